"""Tables for the paper, generated from a ledger (``paper/generated/``)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from .render import ledger_latex
from .runner import atomic_write_text

__all__ = ["write_paper_tables"]


def write_paper_tables(ledger_json: str | Path, out_dir: str | Path) -> list[Path]:
    """Copy ``ledger.json`` to ``out_dir`` and write ``ledger_table.tex`` rendered from it (atomically)."""
    rows = json.loads(Path(ledger_json).read_text())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ledger_json, out / "ledger.json")
    atomic_write_text(out / "ledger_table.tex", ledger_latex(rows))
    return [out / "ledger.json", out / "ledger_table.tex"]
