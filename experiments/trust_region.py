"""Regenerate the 'trust_region' figure family into figures/: python experiments/trust_region.py [--quick] [--device cpu|cuda]."""
from pgtheory.claims.figures import family_main

if __name__ == "__main__":
    family_main("trust_region")
