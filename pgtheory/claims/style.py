"""The one matplotlib style of pgtheory figures: labelled axes, a title naming the claim, PNG + PDF."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["new_figure", "save_figure", "plain_log_ticks", "paper_style", "PAPER_TEXT_WIDTH"]

STYLE = {"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "font.size": 9, "legend.frameon": False}

PAPER_TEXT_WIDTH = 6.3  #: inches; the paper's \linewidth is 6.6 in (A4, 2.2 cm margins), figures are placed at 1:1
PAPER_RC = {**STYLE, "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 7,
            "ytick.labelsize": 7, "legend.fontsize": 7, "lines.linewidth": 1.2, "lines.markersize": 4,
            "pdf.fonttype": 42, "font.family": "DejaVu Sans"}
_PAPER = [False]  # set by paper_style(): figures sized for the page, PDF only


@contextmanager
def paper_style():
    """Draw for the paper inside this block: at most ``PAPER_TEXT_WIDTH`` wide (so that LaTeX places the figure at
    its natural size and 7–8 pt text stays 7–8 pt on the page), paper font sizes, vector PDF only.

    The claims' own ``draw`` functions are used unchanged: :func:`new_figure` and :func:`save_figure` read the mode.
    """
    _PAPER[0] = True
    try:
        with plt.rc_context(PAPER_RC):
            yield
    finally:
        _PAPER[0] = False


def _figure_size(ncols: int, width: float, height: float) -> tuple[float, float]:
    """(width, height) in inches: the requested size, or in paper mode one scaled down to the text width."""
    if not _PAPER[0]:
        return width * ncols, height
    total = min(width * ncols, PAPER_TEXT_WIDTH)
    return total, min(max(height * total / (width * ncols), 2.2), 2.8)


def new_figure(claim_id: str, title: str, ncols: int = 1, width: float = 5.0, height: float = 3.4):
    """A figure with ``ncols`` axes and a suptitle naming the claim (paper mode: see :func:`paper_style`)."""
    with plt.rc_context(PAPER_RC if _PAPER[0] else STYLE):
        fig, axes = plt.subplots(1, ncols, figsize=_figure_size(ncols, width, height), squeeze=False)
    fig.suptitle(f"{claim_id}: {title}", fontsize=8 if _PAPER[0] else 9)
    for ax in axes[0]:
        ax.grid(True, alpha=0.3)
    return fig, list(axes[0])


def plain_log_ticks(ax, ticks, axis: str = "x") -> None:
    """Put plain tick labels (0.03, not 3×10⁻²) at ``ticks`` on a log ``axis`` and drop its minor labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    a = ax.xaxis if axis == "x" else ax.yaxis
    a.set_major_locator(FixedLocator(list(ticks)))
    a.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a.set_minor_locator(NullLocator())
    a.set_minor_formatter(NullFormatter())


def save_figure(fig, directory: str, claim_id: str) -> str:
    """Save ``fig`` as PNG and PDF under ``directory``; returns the PNG path (paper mode: the PDF only, its path)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    if _PAPER[0]:
        pdf = d / f"{claim_id}.pdf"
        fig.savefig(pdf)
        plt.close(fig)
        return str(pdf)
    png = d / f"{claim_id}.png"
    fig.savefig(png)
    fig.savefig(d / f"{claim_id}.pdf")
    plt.close(fig)
    return str(png)
