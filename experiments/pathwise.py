"""Regenerate the 'pathwise' figure family into figures/: python experiments/pathwise.py [--quick] [--device cpu|cuda]."""
from pgtheory.claims.figures import family_main

if __name__ == "__main__":
    family_main("pathwise")
