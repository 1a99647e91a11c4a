"""Figure families: which claims draw which figures, and regeneration into ``figures/`` (PNG + PDF).

Claims draw their figures while they run (into ``<results>/figures/``); regeneration runs the families'
claims through the cached runner (a cached claim whose figure file is missing re-runs and redraws it)
and copies the PNG and PDF files out. ``figures/`` holds the committed full-scale figures; quick-scale
figures go to ``<results>/figures-quick/`` unless another directory is named, and never into
``figures/`` without ``force``.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

from .registry import CLAIMS, all_claims
from .runner import check, claim_versions, redraw_from_store

__all__ = ["OTHER_FAMILY", "figure_families", "FULL_SCALE_OUT", "figures_out", "validate_families", "regenerate_figures"]

#: where full-scale figures go (relative to the working directory): the committed figures of the paper
FULL_SCALE_OUT = "figures"

#: the family of claims that declare none (a third-party claim may leave ``figure_family`` empty)
OTHER_FAMILY = "other"


def figure_families() -> dict[str, list[str]]:
    """Family name → the ids of the claims that declare it (``Claim.figure_family``), families and ids sorted.

    Derived from the registered claims, never maintained by hand; one ``experiments/<family>.py`` per family.
    """
    out: dict[str, list[str]] = {}
    for c in all_claims():
        out.setdefault(c.figure_family or OTHER_FAMILY, []).append(c.id)
    return {f: sorted(out[f]) for f in sorted(out)}


def validate_families(families: list[str] | None) -> list[str]:
    """The family names to draw (all when ``families`` is empty), or ValueError naming the first unknown one."""
    known = figure_families()
    names = list(known) if not families else list(families)
    for n in names:
        if n not in known:
            raise ValueError(f"families: unknown family {n!r}; known: {', '.join(known)}")
    return names


def _full_scale_dirs() -> set[Path]:
    """The directories holding full-scale figures: ``figures/`` here and in the source checkout."""
    return {Path(FULL_SCALE_OUT).resolve(), (Path(__file__).resolve().parents[2] / FULL_SCALE_OUT).resolve()}


def figures_out(scale: str, results: str | Path = "results", out: str | Path | None = None, force: bool = False) -> Path:
    """Where figures of ``scale`` go: ``out`` if given, else ``figures/`` (full) or ``<results>/figures-<scale>/``.

    Raises ValueError if a scale other than 'full' would write into a full-scale directory without ``force``.
    """
    target = (Path(FULL_SCALE_OUT) if scale == "full" else Path(results) / f"figures-{scale}") if out is None else Path(out)
    if scale != "full" and not force and target.resolve() in _full_scale_dirs():
        raise ValueError(f"out: {target} holds the full-scale figures; refusing to overwrite them with {scale}-scale "
                         f"ones (choose another --out, or pass --force)")
    return target


def regenerate_figures(families: list[str] | None = None, *, scale: str = "full", results: str | Path = "results",
                       out: str | Path | None = None, device: str = "cpu", jobs: int = 1, seed: int = 0, threads=None,
                       force: bool = False, stored_only: bool = False,
                       progress: Callable[[str, dict[str, Any], bool], None] | None = None,
                       on_start: Callable[[str], None] | None = None) -> list[Path]:
    """Draw the families' figures at ``scale`` and copy their PNG and PDF files into ``out``.

    A claim that declares ``draw`` and has stored measurements for its current code is redrawn from them without
    running (seconds); the others run through the cached :func:`~pgtheory.claims.runner.check` (a cached record whose
    figure exists is not re-run). ``stored_only``: never run a claim — ValueError naming those that would need a run.
    ``out`` defaults to :func:`figures_out`'s choice (quick scale never overwrites ``figures/`` unless ``force``);
    ``progress`` and ``on_start`` are passed to ``check`` (``progress`` also reports redrawn claims as cached).
    ``jobs``: processes for drawing from the store as well as for running claims.
    """
    names = validate_families(families)
    out = figures_out(scale, results, out, force)
    known = figure_families()
    ids = [i for n in names for i in known[n]]
    records: dict[str, dict[str, Any]] = {}
    known = set(CLAIMS.names())
    versions = claim_versions([i for i in ids if i in known])  # one read of the sources for all claims
    for cid, rec in _redraw_all(ids, scale, seed, results, versions, jobs):
        if rec is not None:
            records[cid] = rec
            if progress:
                progress(cid, rec, True)
    todo = [i for i in ids if i not in records]
    if todo and stored_only:
        raise ValueError(f"stored_only: no stored measurements (or no draw function) for {', '.join(todo)}; "
                         f"run them first (pgtheory check --{scale} ...)")
    if todo:
        ran = check(todo, scale=scale, seed=seed, device=device, results=results, jobs=jobs, threads=threads,
                    progress=progress, on_start=on_start)
        records.update({r["id"]: r for r in ran})
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for cid in ids:
        r = records[cid]
        if r.get("figure"):
            png = Path(results) / r["figure"]
            for src in (png, png.with_suffix(".pdf")):
                dst = out / src.name
                shutil.copyfile(src, dst)
                written.append(dst)
    return written


def _redraw_all(ids: list[str], scale: str, seed: int, results: str | Path, versions: dict[str, str], jobs: int):
    """Yield (id, record or None) of :func:`redraw_from_store` for each id; ``jobs`` > 1 draws in spawned processes
    (drawing is CPU-bound matplotlib work: about 1 s per claim), yielding as each finishes."""
    if jobs <= 1 or len(ids) < 2:
        for cid in ids:
            yield cid, redraw_from_store(cid, scale, seed, results, versions.get(cid))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=min(jobs, len(ids)), mp_context=multiprocessing.get_context("spawn")) as ex:
        futs = {ex.submit(redraw_from_store, cid, scale, seed, str(results), versions.get(cid)): cid for cid in ids}
        for f in as_completed(futs):
            yield futs[f], f.result()


def family_main(family: str, argv: list[str] | None = None) -> None:
    """Command line of an ``experiments/<family>.py`` script: ``[--quick] [--force] [--device cpu|cuda]``."""
    import argparse

    ap = argparse.ArgumentParser(description=f"Regenerate the {family!r} figure family: full scale into figures/ "
                                             f"(default), quick scale into results/figures-quick/.")
    ap.add_argument("--quick", action="store_true", help="quick scale (a smoke test), drawn into results/figures-quick/")
    ap.add_argument("--force", action="store_true", help="let --quick write into figures/ if --out names it")
    ap.add_argument("--out", default=None, help="output directory (default: by scale, as above)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    scale = "quick" if args.quick else "full"
    try:
        out = figures_out(scale, "results", args.out, args.force)
    except ValueError as e:
        ap.error(str(e))
    print(f"{scale}-scale figures of {family!r} into {out}/; claims:", ", ".join(figure_families()[family]), flush=True)
    for path in regenerate_figures([family], scale=scale, out=out, device=args.device):
        print("wrote", path)
