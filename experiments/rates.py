"""Regenerate the 'rates' figure family into figures/: python experiments/rates.py [--quick] [--device cpu|cuda]."""
from pgtheory.claims.figures import family_main

if __name__ == "__main__":
    family_main("rates")
