r"""A static HTML report of a ledger: browse each claim with its quote, rule, evidence, sensitivity and figure (issue 16).

``write_report(results, out)`` reads ``<results>/ledger.json`` (the records :func:`~pgtheory.claims.runner.check`
wrote) and writes ``<out>/index.html`` — the ledger table, filterable by theme, kind and verdict with a few lines of
inline JavaScript (every row is visible without it; ``index.html#verdict=qualified&kind=theorem`` opens filtered) — and one page per claim, ``<out>/claims/<id>.html``: the paper,
the quoted sentence and where it was read, the protocol kind and whether the rule is an extension, the decision rule
(test and threshold), the verdict with the raw verdict and the protocol's notes, the summary, the replication over
instances, the sensitivity table, the equivalence evidence and twins where the claim is about unbiasedness, the
figure, the details as JSON, the provenance (commit, library versions, run seed, seconds) and the command that
reproduces the record. Figures are copied next to the pages, so the report is one self-contained directory that
opens from disk (no server, no network).
"""
from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

from .runner import atomic_write_text, load_ledger

__all__ = ["write_report", "claim_page", "index_page"]

VERDICT_COLOURS = {"confirmed": "#1a7f37", "verified": "#1a7f37", "refuted": "#cf222e", "qualified": "#9a6700",
                   "inconclusive": "#6e7781"}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; line-height: 1.45; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { border-bottom: 1px solid #d0d7de; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.verdict { font-weight: bold; }
blockquote { border-left: 4px solid #d0d7de; margin: 0.5em 0; padding: 0.2em 1em; color: #333; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
img { max-width: 100%; border: 1px solid #d0d7de; }
.filters select { margin-right: 1em; }
code { background: #f6f8fa; padding: 0.1em 0.3em; }
"""

FILTER_SCRIPT = """
function applyFilters() {
  var f = {};
  document.querySelectorAll('select[data-filter]').forEach(function (s) { f[s.dataset.filter] = s.value; });
  var shown = 0;
  document.querySelectorAll('tr[data-verdict]').forEach(function (row) {
    var ok = Object.keys(f).every(function (k) {
      return !f[k] || (' ' + row.dataset[k] + ' ').indexOf(' ' + f[k] + ' ') >= 0;
    });
    row.style.display = ok ? '' : 'none';
    if (ok) { shown += 1; }
  });
  document.getElementById('shown').textContent = shown;
}
document.querySelectorAll('select[data-filter]').forEach(function (s) { s.addEventListener('change', applyFilters); });
// a filtered view is linkable: index.html#verdict=qualified&kind=theorem
new URLSearchParams(location.hash.slice(1)).forEach(function (value, key) {
  var s = document.querySelector('select[data-filter="' + key + '"]');
  if (s) { s.value = value; }
});
applyFilters();
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _page(title: str, body: str, *, script: str = "") -> str:
    tail = f"<script>{script}</script>\n" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{_e(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n{body}\n{tail}</body>\n</html>\n")


def _verdict(v: str) -> str:
    return f'<span class="verdict" style="color:{VERDICT_COLOURS.get(v, "#000")}">{_e(v)}</span>'


def _themes(record: dict) -> list[str]:
    return [t.strip() for t in str(record.get("theme", "")).split(",") if t.strip()]


def _slug(claim_id: str) -> str:
    """A file name for a claim id (ids are ``L<n>-<slug>``; anything else is replaced)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(claim_id))


def _table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(_fmt(r.get(c, '')))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, (list, dict)):
        return json.dumps(x, default=str, ensure_ascii=False)
    return str(x)


def reproduce_command(record: dict) -> str:
    """The command that recomputes this record (same scale, seed and claim; the record names the commit)."""
    return f"pgtheory check --{record.get('scale', 'quick')} {record['id']} --seed {record.get('seed', 0)}"


def claim_page(record: dict, figure: str | None) -> str:
    """The HTML page of one record; ``figure`` is the image's path relative to the page (or None)."""
    r = record
    parts = [f'<p><a href="../index.html">← the ledger</a></p>',
             f"<h1>{_e(r['id'])}</h1>",
             f"<p><b>{_e(r.get('paper', ''))}</b> ("
             + (f"from practice: {_e(r['practice_source'])}" if r.get("practice_source") else f"seed line {_e(r.get('seed_line', '?'))}")
             + f"; theme {_e(r.get('theme', ''))})</p>",
             f"<p>Claim: {_e(r.get('claim', ''))}</p>"]
    if r.get("quote"):
        parts.append(f"<h2>The sentence tested</h2><blockquote>{_e(r['quote'])}</blockquote>"
                     f"<p>Read in: {_e(r.get('quote_source', ''))}</p>")
    ext = "yes — the rule asks more than the sentence: it can qualify, never refute" if r.get("extension") else "no"
    parts.append("<h2>Rule</h2>" + _table([{"kind": r.get("kind", ""), "extension": ext, "test": r.get("test", ""),
                                            "threshold": r.get("threshold", ""), "alpha": r.get("alpha", "")}],
                                          ["kind", "extension", "test", "threshold", "alpha"]))
    verdict_line = f"<p>Verdict: {_verdict(r.get('verdict', ''))}"
    if r.get("raw_verdict") and r.get("raw_verdict") != r.get("verdict"):
        verdict_line += f" (the rule's own verdict: {_e(r['raw_verdict'])})"
    if r.get("quote_verdict"):
        verdict_line += f"; on the quoted sentence itself: {_e(r['quote_verdict'])}"
    parts.append("<h2>Verdict</h2>" + verdict_line + "</p>")
    if r.get("protocol_notes"):
        parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in r["protocol_notes"]) + "</ul>")
    if r.get("code_checks"):
        parts.append("<p>Code checks that failed (a bug to fix, never a verdict):</p><ul>"
                     + "".join(f"<li>{_e(c)}</li>" for c in r["code_checks"]) + "</ul>")
    parts.append(f"<h2>Evidence</h2><p>{_e(r.get('summary', ''))}</p>"
                 + _table([{"statistic": r.get("statistic", ""), "threshold": r.get("threshold", ""),
                            "samples": r.get("n_samples", "")}], ["statistic", "threshold", "samples"]))
    inst = r.get("instances")
    if isinstance(inst, dict):
        parts.append("<h3>Replication over instances</h3>" + _table([inst], list(inst)))
    sens = r.get("sensitivity") or []
    parts.append("<h3>Sensitivity to the design constants</h3>")
    if sens:
        cols = ["constant", "value", "verdict"] + sorted({k for p in sens for k in p} - {"constant", "value", "verdict"})
        parts.append(_table(sens, cols))
    else:
        parts.append("<p>Nothing was swept.</p>")
    if r.get("constants"):
        parts.append("<p>Declared constants (plausible ranges): <code>" + _e(_fmt(r["constants"])) + "</code></p>")
    if r.get("equivalence"):
        parts.append("<h3>Equivalence (unbiasedness) and twins</h3><pre>"
                     + _e(json.dumps({k: r.get(k) for k in ("margin_declared", "margin", "bias_bound", "equivalence", "twins")},
                                     indent=1, default=str, ensure_ascii=False)) + "</pre>")
    if figure:
        parts.append(f'<h2>Figure</h2><p><img src="{_e(figure)}" alt="figure of {_e(r["id"])}"></p>')
    parts.append("<h2>Details</h2><pre>" + _e(json.dumps(r.get("details", {}), indent=1, default=str, ensure_ascii=False))
                 + "</pre>")
    prov = {k: r.get(k) for k in ("scale", "seed", "run_seed", "device", "seconds", "git_commit", "dirty", "code_version",
                                  "versions", "settings", "host") if k in r}
    parts.append("<h2>Provenance</h2><pre>" + _e(json.dumps(prov, indent=1, default=str, ensure_ascii=False)) + "</pre>"
                 f"<p>Reproduce (at commit <code>{_e(str(r.get('git_commit', 'unknown'))[:12])}</code>): "
                 f"<code>{_e(reproduce_command(r))}</code></p>")
    return _page(f"{r['id']} — pgtheory", "\n".join(parts))


def index_page(records: list[dict], title: str = "pgtheory ledger") -> str:
    """The ledger table with theme / kind / verdict filters; each id links to its claim page."""
    def options(name: str, values: set[str]) -> str:
        opts = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in sorted(values))
        return f'<label>{name}: <select data-filter="{name}"><option value="">all</option>{opts}</select></label>'

    themes = {t for r in records for t in _themes(r)}
    kinds = {str(r.get("kind", "")) for r in records}
    verdicts = {str(r.get("verdict", "")) for r in records}
    rows = []
    for r in records:
        rows.append(f'<tr data-theme="{_e(" ".join(_themes(r)))}" data-kind="{_e(r.get("kind", ""))}" '
                    f'data-verdict="{_e(r.get("verdict", ""))}">'
                    f'<td><a href="claims/{_e(_slug(r["id"]))}.html">{_e(r["id"])}</a></td>'
                    f"<td>{_e(r.get('paper', ''))}</td><td>{_e(r.get('theme', ''))}</td><td>{_e(r.get('kind', ''))}</td>"
                    f"<td>{_verdict(r.get('verdict', ''))}</td><td>{_e(r.get('summary', ''))}</td></tr>")
    counts = {}
    for r in records:
        counts[r.get("verdict", "")] = counts.get(r.get("verdict", ""), 0) + 1
    scales = sorted({f"{r.get('scale', '?')} (seed {r.get('seed', '?')})" for r in records})
    commits = sorted({str(r.get("git_commit", "unknown"))[:12] for r in records})
    body = (f"<h1>{_e(title)}</h1>"
            f"<p>{len(records)} claims: " + ", ".join(f"{_e(k)} {v}" for k, v in sorted(counts.items())) +
            f". Scale: {_e(', '.join(scales))}; commit(s): {_e(', '.join(commits))}.</p>"
            f'<p class="filters">{options("theme", themes)}{options("kind", kinds)}{options("verdict", verdicts)}'
            f' showing <span id="shown">{len(records)}</span></p>'
            "<table><thead><tr><th>claim</th><th>paper</th><th>theme</th><th>kind</th><th>verdict</th><th>summary</th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return _page(title, body, script=FILTER_SCRIPT)


def write_report(results: str | Path = "results", out: str | Path | None = None, *, title: str = "pgtheory ledger") -> Path:
    """Write the HTML report of ``<results>/ledger.json`` into ``out`` (default ``<results>/report``); returns index.html.

    Raises FileNotFoundError (naming the path) when there is no ledger to report.
    """
    results = Path(results)
    if not (results / "ledger.json").is_file():
        raise FileNotFoundError(f"results: no ledger at {results / 'ledger.json'}; run `pgtheory check` first")
    records = load_ledger(results)
    out = results / "report" if out is None else Path(out)
    (out / "claims").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    for r in records:
        figure = None
        if r.get("figure"):
            src = results / r["figure"]
            if src.is_file():
                dst = out / "figures" / (_slug(r["id"]) + src.suffix)
                shutil.copyfile(src, dst)
                figure = f"../figures/{dst.name}"
        atomic_write_text(out / "claims" / f"{_slug(r['id'])}.html", claim_page(r, figure))
    index = out / "index.html"
    atomic_write_text(index, index_page(records, title))
    return index
