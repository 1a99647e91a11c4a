"""The one matplotlib style of pgtheory figures: labelled axes, a title naming the claim, PNG + PDF."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["new_figure", "save_figure", "plain_log_ticks"]

STYLE = {"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "font.size": 9, "legend.frameon": False}


def new_figure(claim_id: str, title: str, ncols: int = 1, width: float = 5.0, height: float = 3.4):
    """A figure with ``ncols`` axes and a suptitle naming the claim."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    fig.suptitle(f"{claim_id}: {title}", fontsize=9)
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
    """Save ``fig`` as PNG and PDF under ``directory``; returns the PNG path."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    png = d / f"{claim_id}.png"
    fig.savefig(png)
    fig.savefig(d / f"{claim_id}.pdf")
    plt.close(fig)
    return str(png)
