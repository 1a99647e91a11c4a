"""Regenerate the 'risk_distributional' figure family into figures/: python experiments/risk_distributional.py [--quick] [--device cpu|cuda]."""
from pgtheory.claims.figures import family_main

if __name__ == "__main__":
    family_main("risk_distributional")
