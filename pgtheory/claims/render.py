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
                      "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                      # non-ASCII characters that appear in paper names and claims (pdflatex has no Unicode math)
                      "Δ": r"$\Delta$", "δ": r"$\delta$", "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$",
                      "λ": r"$\lambda$", "μ": r"$\mu$", "π": r"$\pi$", "ρ": r"$\rho$", "σ": r"$\sigma$", "τ": r"$\tau$",
                      "θ": r"$\theta$", "φ": r"$\phi$", "ε": r"$\epsilon$", "∇": r"$\nabla$", "≤": r"$\le$", "≥": r"$\ge$",
                      "≠": r"$\ne$", "‖": r"$\|$", "→": r"$\to$", "²": r"$^2$", "³": r"$^3$", "−": "-", "×": r"$\times$",
                      "·": r"$\cdot$", "–": "--", "—": "---", "’": "'"})


def _tex(x: Any) -> str:
    """Escape for LaTeX; characters without a mapping become '?' rather than breaking pdflatex."""
    return "".join(c if ord(c) < 128 else "?" for c in str(x).translate(_TEX))


def ledger_latex(rows: list[dict[str, Any]]) -> str:
    out = [r"\begin{tabular}{lp{5.6cm}lrr}", r"\toprule", r"Claim & Paper & Verdict & Statistic & $n$ \\", r"\midrule"]
    for r in rows:
        out.append(f"{_tex(r['id'])} & {_tex(r['paper'])} & {r['verdict']} & {_tex(_fmt(r['statistic']))} & {r['n_samples']} \\\\")
    out += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(out)
