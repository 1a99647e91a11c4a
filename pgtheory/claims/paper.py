"""Tables for the paper, generated from one or more ledgers (``paper/generated/``)."""
from __future__ import annotations

import json
from pathlib import Path

from .render import ledger_latex
from .runner import atomic_write_text

__all__ = ["merge_ledgers", "write_paper_tables", "draw_paper_figures"]


def merge_ledgers(*ledger_json: str | Path) -> list[dict]:
    """Rows of several ledgers (or cached single records), one per claim id (a later ledger replaces an earlier one's row), sorted by seed line.

    Each row keeps its own ``code_version``, ``scale`` and ``seed``, so a merged ledger says which run produced what.
    """
    rows: dict[str, dict] = {}
    for path in ledger_json:
        data = json.loads(Path(path).read_text())
        for r in [data] if isinstance(data, dict) else data:  # a cached single record counts as a one-row ledger
            rows[r["id"]] = r
    return sorted(rows.values(), key=lambda r: (r["seed_line"], r["id"]))


def write_paper_tables(*ledger_json: str | Path, out_dir: str | Path, allow_mixed: bool = False) -> list[Path]:
    """Write ``ledger.json`` (merged) and ``ledger_table.tex`` rendered from it into ``out_dir`` (atomically).

    The paper's ledger comes from one commit of a clean tree: rows from several git commits, from a dirty
    tree, or without a commit are refused unless ``allow_mixed`` (then the table is not citable as one run).
    """
    rows = merge_ledgers(*ledger_json)
    commits = {r.get("git_commit") for r in rows}
    dirty = [r["id"] for r in rows if r.get("dirty") is not False]
    if not allow_mixed and (len(commits) != 1 or None in commits or "unknown" in commits or dirty):
        raise ValueError(f"ledger_json: the paper's ledger must come from one commit of a clean tree; found commits "
                         f"{sorted(str(c) for c in commits)} and {len(dirty)} row(s) from a dirty or unknown tree "
                         f"(pass allow_mixed=True to merge anyway)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "ledger.json", json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(out / "ledger_table.tex", ledger_latex(rows))
    return [out / "ledger.json", out / "ledger_table.tex"]


def draw_paper_figures(ledger_json: str | Path, results: str | Path, out_dir: str | Path,
                       ids: list[str] | None = None) -> list[Path]:
    """Draw the paper's figures (vector PDF, sized for the page) from the measurements the ledger's run stored.

    ``ledger_json``: the paper's ledger (its rows name their measurement files, relative to ``results``, the run's
    results directory); ``ids``: the claims to draw (default: every row). Each claim's own ``draw`` function is used
    under :func:`~pgtheory.claims.style.paper_style` — the same code as the package's figures, sized for the page — so
    nothing is re-run or re-decided. Raises ValueError naming the rows whose measurements are missing, before drawing.
    """
    import shutil
    import tempfile

    from .measurements import load_measurements
    from .registry import CLAIMS, load_claims
    from .style import paper_style

    load_claims()
    rows = {r["id"]: r for r in merge_ledgers(ledger_json)}
    chosen = list(rows) if ids is None else list(ids)
    unknown = [i for i in chosen if i not in rows]
    if unknown:
        raise ValueError(f"ids: not in the ledger {ledger_json}: {', '.join(unknown)}")
    res = Path(results)
    missing = [i for i in chosen if not rows[i].get("measurements") or not (res / rows[i]["measurements"]).is_file()
               or i not in CLAIMS.names() or CLAIMS.get(i).draw is None]
    if missing:
        raise ValueError(f"results: no stored measurements (or no draw function) under {res} for {', '.join(missing)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp, paper_style():
        for cid in chosen:
            pdf = Path(CLAIMS.get(cid).draw(load_measurements(res / rows[cid]["measurements"]), tmp))
            dst = out / f"{cid}.pdf"
            shutil.move(str(pdf), dst)
            written.append(dst)
    return written
