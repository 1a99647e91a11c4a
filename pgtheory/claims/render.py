"""Render ledger records as a Markdown table (LEDGER.md) and a LaTeX table (paper/)."""
from __future__ import annotations

from typing import Any

from .protocol import shown_verdict

__all__ = ["ledger_markdown", "ledger_latex", "by_kind", "verdict_counts", "shown"]


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


_KIND_TITLES = {"empirical": "Empirical claims", "asymptotic": "Asymptotic claims",
                "theorem": "Theorems of the papers, checked exactly on instance families (a counterexample would refute)",
                "identity": "Identities and definitions (checks of our code, not confirmations of a paper)",
                None: "Records from before the verdict protocol (kind not recorded)"}
_KIND_ORDER = ("empirical", "asymptotic", "theorem", "identity", None)


def shown(r: dict[str, Any]) -> str:
    """The verdict of record ``r`` as the ledger shows it (:func:`~pgtheory.claims.protocol.shown_verdict`)."""
    return shown_verdict(r.get("kind"), r["verdict"])


def by_kind(rows: list[dict[str, Any]]) -> list[tuple[str | None, list[dict[str, Any]]]]:
    """Rows grouped by claim kind (empirical, asymptotic, theorem, identity, then records without a kind), empty groups dropped."""
    return [(k, [r for r in rows if r.get("kind") == k]) for k in _KIND_ORDER if any(r.get("kind") == k for r in rows)]


def verdict_counts(rows: list[dict[str, Any]]) -> str:
    """'12 confirmed, 3 qualified' (shown verdicts, in a fixed order), or 'none'."""
    order = ("confirmed", "verified", "refuted", "qualified", "inconclusive")
    return ", ".join(f"{n} {v}" for v in order if (n := sum(shown(r) == v for r in rows))) or "none"


def ledger_markdown(rows: list[dict[str, Any]]) -> str:
    out = ["# pgtheory ledger", ""]
    for kind, group in by_kind(rows):
        out += [f"## {_KIND_TITLES[kind]} ({len(group)}: {verdict_counts(group)})", "",
                "| id | paper | verdict | instances | statistic | threshold | n | s | summary |",
                "|---|---|---|---|---|---|---|---|---|"]
        for r in group:
            fig = f" ([figure]({r['figure']}))" if r.get("figure") else ""
            inst = r.get("instances")
            inst_s = f"{inst['holding']}/{inst['count']}" if isinstance(inst, dict) else "—"
            notes = "".join(f" *Protocol: {n}.*" for n in r.get("protocol_notes", []))
            declared = f", declared {r['margin_declared']}" if r.get("margin_declared") else ""
            bound = (f" Bias bound {r['bias_bound']:.3g} (margin {r['margin']:.3g}{declared})."
                     if isinstance(r.get("bias_bound"), (int, float)) else "")
            ext = " (extension)" if r.get("extension") else ""
            out.append(f"| {r['id']} | {r['paper']} | **{shown(r)}**{ext} | {inst_s} | {_fmt(r['statistic'])} | {r['threshold']} | "
                       f"{r['n_samples']} | {r['seconds']:.1f} | {r['summary']}{bound}{notes}{fig} |")
        out.append("")
    out += ["Totals: " + "; ".join(f"{k or 'no kind'} {len(g)} ({verdict_counts(g)})" for k, g in by_kind(rows)), ""]
    return "\n".join(out)


_TEX = str.maketrans({"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                      "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                      # non-ASCII characters that appear in paper names and claims (pdflatex has no Unicode math)
                      "Δ": r"$\Delta$", "δ": r"$\delta$", "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$",
                      "λ": r"$\lambda$", "μ": r"$\mu$", "π": r"$\pi$", "ρ": r"$\rho$", "σ": r"$\sigma$", "τ": r"$\tau$",
                      "θ": r"$\theta$", "φ": r"$\phi$", "ε": r"$\epsilon$", "∇": r"$\nabla$", "≤": r"$\le$", "≥": r"$\ge$",
                      "≠": r"$\ne$", "‖": r"$\|$", "→": r"$\to$", "²": r"$^2$", "³": r"$^3$", "−": "-", "×": r"$\times$",
                      "·": r"$\cdot$", "–": "--", "—": "---", "’": "'",
                      # added 2026-12-01 (a referee found "r* = 1 ? ε" and "C?[2,5]" in the generated changes table)
                      "∈": r"$\in$", "≈": r"$\approx$", "∝": r"$\propto$", "√": r"$\surd$", "±": r"$\pm$",
                      "∞": r"$\infty$", "…": "...", "η": r"$\eta$", "κ": r"$\kappa$", "ν": r"$\nu$", "ω": r"$\omega$",
                      "χ": r"$\chi$", "ψ": r"$\psi$", "Σ": r"$\Sigma$", "Φ": r"$\Phi$", "Θ": r"$\Theta$",
                      "“": "``", "”": "''", "‘": "`", "⁻": r"$^-$", "¹": r"$^1$", "ᵀ": r"$^T$", "∗": "*",
                      "̂": "", "̃": "", **{chr(0x2080 + i): rf"$_{i}$" for i in range(10)}})


def _tex(x: Any) -> str:
    """Escape for LaTeX; characters without a mapping become '?' rather than breaking pdflatex."""
    return "".join(c if ord(c) < 128 else "?" for c in str(x).translate(_TEX))


def ledger_latex(rows: list[dict[str, Any]]) -> str:
    out = [r"\begin{tabular}{lp{5.6cm}lrr}", r"\toprule", r"Claim & Paper & Verdict & Instances & $n$ \\"]
    for kind, group in by_kind(rows):
        out += [r"\midrule", rf"\multicolumn{{5}}{{l}}{{\emph{{{_tex(_KIND_TITLES[kind])} --- {len(group)}: {_tex(verdict_counts(group))}}}}} \\",
                r"\midrule"]
        for r in group:
            inst = r.get("instances")
            inst_s = f"{inst['holding']}/{inst['count']}" if isinstance(inst, dict) else "--"
            out.append(f"{_tex(r['id'])} & {_tex(r['paper'])} & {shown(r)} & {inst_s} & {r['n_samples']} \\\\")
    out += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(out)
