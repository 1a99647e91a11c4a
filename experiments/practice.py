"""Regenerate the 'practice' figure family into figures/: python experiments/practice.py [--quick] [--device cpu|cuda]."""
from pgtheory.claims.figures import family_main

if __name__ == "__main__":
    family_main("practice")
