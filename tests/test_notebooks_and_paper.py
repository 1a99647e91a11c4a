"""Teaching notebooks execute (small scale); the paper's one-table ledger is the one rendered from its ledger."""
import json
from pathlib import Path

import matplotlib
import pytest

from pgtheory.claims import all_claims
from pgtheory.claims.render import ledger_latex

ROOT = Path(__file__).resolve().parents[1]


def run_notebook(path: Path) -> dict:
    """Execute every code cell of an .ipynb in one namespace (no Jupyter needed); return the namespace."""
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4
    matplotlib.use("Agg")
    ns: dict = {"__name__": "__notebook__"}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            code = "".join(cell["source"])
            exec(compile(code, f"{path.name}[cell {i}]", "exec"), ns)
    return ns


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_notebook_executes_at_small_scale(name, monkeypatch):
    monkeypatch.setenv("PGTHEORY_NOTEBOOK_SCALE", "small")
    ns = run_notebook(ROOT / "notebooks" / name)
    import matplotlib.pyplot as plt

    plt.close("all")
    assert ns["SMALL"] is True


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_notebook_executes_at_shipped_scale(name, monkeypatch):
    """As a reader runs it (notebook 01's NPG cell once reached NaN at iteration 707 of 3000: issue 18)."""
    monkeypatch.delenv("PGTHEORY_NOTEBOOK_SCALE", raising=False)
    ns = run_notebook(ROOT / "notebooks" / name)
    import matplotlib.pyplot as plt

    plt.close("all")
    assert ns["SMALL"] is False


def test_there_are_at_least_two_notebooks():
    assert len(list((ROOT / "notebooks").glob("*.ipynb"))) >= 2


def test_paper_ledger_table_is_the_one_rendered_from_its_ledger():
    """The one-table rendering of paper/generated/ledger.json stays in step with it (the paper's sections, family
    tables and figures are checked in tests/test_paper.py)."""
    gen = ROOT / "paper" / "generated"
    rows = json.loads((gen / "ledger.json").read_text())
    assert (gen / "ledger_table.tex").read_text() == ledger_latex(rows)
    known = {c.id for c in all_claims()}
    assert {r["id"] for r in rows} <= known
