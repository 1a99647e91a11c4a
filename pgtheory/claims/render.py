"""Render ledger records as a Markdown table (LEDGER.md) and a LaTeX table (paper/)."""
from __future__ import annotations

from typing import Any

__all__ = ["ledger_markdown", "ledger_latex"]


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def ledger_markdown(rows: list[dict[str, Any]]) -> str:
    out = ["# pgtheory ledger", "", "| id | paper | verdict | statistic | threshold | n | device | s | summary |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fig = f" ([figure]({r['figure']}))" if r.get("figure") else ""
        out.append(f"| {r['id']} | {r['paper']} | **{r['verdict']}** | {_fmt(r['statistic'])} | {r['threshold']} | "
                   f"{r['n_samples']} | {r['device']} | {r['seconds']:.1f} | {r['summary']}{fig} |")
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("confirmed", "refuted", "qualified", "inconclusive")}
    out += ["", "Totals: " + ", ".join(f"{k} {v}" for k, v in counts.items()), ""]
    return "\n".join(out)


_TEX = str.maketrans({"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                      "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"})


def ledger_latex(rows: list[dict[str, Any]]) -> str:
    out = [r"\begin{tabular}{lp{5.6cm}lrr}", r"\toprule", r"Claim & Paper & Verdict & Statistic & $n$ \\", r"\midrule"]
    for r in rows:
        out.append(f"{str(r['id']).translate(_TEX)} & {str(r['paper']).translate(_TEX)} & {r['verdict']} & "
                   f"{_fmt(r['statistic']).translate(_TEX)} & {r['n_samples']} \\\\")
    out += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(out)
