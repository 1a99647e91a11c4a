"""The paper's figures: drawn from a run's stored measurements by the claims' own draw code, sized for the page."""
import re

import pytest

from pgtheory.claims import check
from pgtheory.claims.paper import draw_paper_figures
from pgtheory.claims.style import PAPER_TEXT_WIDTH

IDS = ["L9-pg-theorem-autograd", "L55-trpo-lower-bound"]


def _media_box_inches(pdf: bytes) -> tuple[float, float]:
    x0, y0, x1, y1 = map(float, re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", pdf).groups())
    return (x1 - x0) / 72, (y1 - y0) / 72


def test_paper_figures_are_vector_pdfs_no_wider_than_the_text(tmp_path):
    res = tmp_path / "results"
    check(IDS, scale="quick", results=res)
    out = draw_paper_figures(res / "ledger.json", res, tmp_path / "paper_figs")
    assert [p.name for p in out] == [f"{i}.pdf" for i in IDS]
    for p in out:
        w, h = _media_box_inches(p.read_bytes())
        assert w <= PAPER_TEXT_WIDTH + 1e-6 and 2.0 <= h <= 2.9
    # the package's own figures are unchanged by the paper mode (wider than the text, PNG as well)
    w, _ = _media_box_inches((res / "figures" / f"{IDS[1]}.pdf").read_bytes())
    assert w > PAPER_TEXT_WIDTH and (res / "figures" / f"{IDS[1]}.png").exists()


def test_paper_figures_name_missing_measurements(tmp_path):
    res = tmp_path / "results"
    check(IDS[:1], scale="quick", results=res)
    for f in (res / "measurements").glob("*.npz"):
        f.unlink()
    with pytest.raises(ValueError, match="no stored measurements .* for L9-pg-theorem-autograd"):
        draw_paper_figures(res / "ledger.json", res, tmp_path / "out")
    with pytest.raises(ValueError, match="ids: not in the ledger"):
        draw_paper_figures(res / "ledger.json", res, tmp_path / "out", ids=["L0-nope"])
