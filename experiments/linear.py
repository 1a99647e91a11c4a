"""Regenerate the 'linear' figure family into figures/: python experiments/linear.py [--quick] [--device cpu|cuda]."""
from pgtheory.claims.figures import family_main

if __name__ == "__main__":
    family_main("linear")
