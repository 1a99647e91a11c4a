"""Figure families: which claims draw which figures, and regeneration into ``figures/`` (PNG + PDF)."""
from __future__ import annotations

import shutil
from pathlib import Path

from .runner import check

__all__ = ["FIGURE_FAMILIES", "regenerate_figures"]

#: family name → claim ids whose figures it regenerates (one experiments/ script per family)
FIGURE_FAMILIES: dict[str, list[str]] = {
    "exact_pg": ["L9-pg-theorem-autograd", "L9-softmax-pg-rates"],
    "advantage": ["L7-gae-bias-variance"],
    "trust_region": ["L39-ppo-clip-surrogate", "L55-trpo-lower-bound"],
    "divergences": ["L11-kl-estimators-as-losses", "L11-rpg-kl-regularized-surrogates", "L183-tsallis-kl", "L213-f-dpg",
                    "L117-entropic-risk-kl-robust"],
    "off_policy": ["L187-vtrace-fixed-point", "L135-trajectory-aware-traces", "L3-rapid-stale-minibatches",
                   "L93-token-surrogate-first-order", "L65-group-reinforce-off-policy", "L5-iw-sft-bounds"],
    "variational": ["L127-iwae-snr"],
    "llm_estimators": ["L63-loss-aggregation-delta-l", "L71-bnpo-beta-normalisation", "L129-gspo-sequence-ratio", "L197-gmpo-ratio-range",
                       "L41-aspo-flipped-ratios", "L103-spo-trust-region", "L15-dppo-surrogate-variance", "L113-entropy-covariance",
                       "L113-clip-cov-kl-cov", "L73-pcl-intermediate-difficulty", "L217-p3o-reward-shift-invariance",
                       "L75-empg-gradient-entropy", "L27-d3s-variance-selection", "L45-egsw-entropy-weights",
                       "L83-tree-opo-prefix-advantages", "L215-vineppo-mc-values"],
}


def regenerate_figures(families: list[str] | None = None, *, scale: str = "full", results: str | Path = "results",
                       out: str | Path = "figures", device: str = "cpu", jobs: int = 1, seed: int = 0) -> list[Path]:
    """Run the families' claims at ``scale`` (cached) and copy their PNG and PDF figures into ``out``."""
    names = list(FIGURE_FAMILIES) if not families else families
    for n in names:
        if n not in FIGURE_FAMILIES:
            raise ValueError(f"families: unknown family {n!r}; known: {', '.join(FIGURE_FAMILIES)}")
    ids = [i for n in names for i in FIGURE_FAMILIES[n]]
    records = check(ids, scale=scale, seed=seed, device=device, results=results, jobs=jobs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for r in records:
        if r.get("figure"):
            png = Path(results) / r["figure"]
            for src in (png, png.with_suffix(".pdf")):
                dst = out / src.name
                shutil.copyfile(src, dst)
                written.append(dst)
    return written


def family_main(family: str, argv: list[str] | None = None) -> None:
    """Command line of an ``experiments/<family>.py`` script: ``[--quick] [--device cpu|cuda]``."""
    import argparse

    ap = argparse.ArgumentParser(description=f"Regenerate the {family!r} figure family into figures/ (full scale by default).")
    ap.add_argument("--quick", action="store_true", help="quick scale (a smoke test)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    print("claims:", ", ".join(FIGURE_FAMILIES[family]))
    for path in regenerate_figures([family], scale="quick" if args.quick else "full", device=args.device):
        print("wrote", path)
