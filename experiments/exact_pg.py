"""Regenerate the 'exact_pg' figure family into figures/: python experiments/exact_pg.py [--quick] [--device cpu|cuda]."""
from pgtheory.claims.figures import family_main

if __name__ == "__main__":
    family_main("exact_pg")
