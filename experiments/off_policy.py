"""Regenerate the 'off_policy' figure family into figures/: python experiments/off_policy.py [--quick] [--device cpu|cuda]."""
from pgtheory.claims.figures import family_main

if __name__ == "__main__":
    family_main("off_policy")
