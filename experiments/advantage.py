"""Regenerate the 'advantage' figure family into figures/ (full scale by default).

    python experiments/advantage.py [--quick] [--device cpu|cuda]
"""
import argparse

from pgtheory.claims.figures import FIGURE_FAMILIES, regenerate_figures

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="quick scale (for a smoke test)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    print("claims:", ", ".join(FIGURE_FAMILIES["advantage"]))
    for path in regenerate_figures(["advantage"], scale="quick" if args.quick else "full", device=args.device):
        print("wrote", path)
