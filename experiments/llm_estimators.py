"""Regenerate the 'llm_estimators' figure family into figures/: python experiments/llm_estimators.py [--quick] [--device cpu|cuda]."""
from pgtheory.claims.figures import family_main

if __name__ == "__main__":
    family_main("llm_estimators")
