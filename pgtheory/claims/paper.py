"""Tables for the paper, generated from one or more ledgers (``paper/generated/``)."""
from __future__ import annotations

import json
from pathlib import Path

from .render import _tex, ledger_latex
from .runner import atomic_write_text

__all__ = ["merge_ledgers", "write_paper_tables", "draw_paper_figures", "PAPER_FAMILIES", "paper_family",
           "readme_ledger_markdown", "update_readme_ledger", "verdict_changes", "swept_constants", "verdict_changes_latex",
           "write_verdict_changes"]

#: The paper's results sections, in order: key → title.
PAPER_FAMILIES = {
    "foundations": "Foundations and trust regions",
    "advantage": "Advantage estimation and traces",
    "iw_kl": "Importance weighting and KL",
    "group": "Group-relative LLM estimators",
    "rates": "Rates and variance reduction",
    "linear": "Linear MDPs",
    "risk": "Risk and distributional RL",
    "practice": "Claims from practice",
}
_BY_FIGURE_FAMILY = {"exact_pg": "foundations", "trust_region": "foundations", "pathwise": "foundations",
                     "advantage": "advantage", "off_policy": "iw_kl", "divergences": "iw_kl", "variational": "iw_kl",
                     "llm_estimators": "group", "practice": "practice", "rates": "rates", "linear": "linear",
                     "risk_distributional": "risk"}
_BY_FIRST_THEME = {"ADV": "advantage", "TR": "foundations", "RISK": "risk", "DIST": "risk"}
_TRACES = {"L187-vtrace-fixed-point"}  # V-trace is an off-policy return: discussed with the traces


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
    from .protocol import REQUIRED_RECORD_KEYS

    rows = merge_ledgers(*ledger_json)
    commits = {r.get("git_commit") for r in rows}
    dirty = [r["id"] for r in rows if r.get("dirty") is not False]
    if not allow_mixed and (len(commits) != 1 or None in commits or "unknown" in commits or dirty):
        raise ValueError(f"ledger_json: the paper's ledger must come from one commit of a clean tree; found commits "
                         f"{sorted(str(c) for c in commits)} and {len(dirty)} row(s) from a dirty or unknown tree "
                         f"(pass allow_mixed=True to merge anyway)")
    incomplete = [r["id"] for r in rows if any(k not in r for k in REQUIRED_RECORD_KEYS)]
    if incomplete and not allow_mixed:
        raise ValueError(f"ledger_json: rows without the protocol's fields (records older than the protocol): "
                         f"{', '.join(incomplete)} (pass allow_mixed=True to merge anyway)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "ledger.json", json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(out / "ledger_table.tex", ledger_latex(rows))
    written = [out / "ledger.json", out / "ledger_table.tex"]
    atomic_write_text(out / "reproducibility.tex", reproducibility_latex(rows))
    atomic_write_text(out / "counts.tex", counts_latex(rows))
    atomic_write_text(out / "readings.tex", readings_latex(rows))
    written += [out / "reproducibility.tex", out / "counts.tex", out / "readings.tex"]
    for key, table in family_tables(rows).items():
        atomic_write_text(out / f"family_{key}.tex", table)
        written.append(out / f"family_{key}.tex")
    return written


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


def paper_family(claim_id: str, theme: str, figure_family: str | None) -> str:
    """The results section (a key of :data:`PAPER_FAMILIES`) that discusses a claim.

    Claims from practice (``P-...``) have their own section; V-trace goes with the traces; a claim whose first theme
    is ADV, TR, RISK or DIST goes to advantage estimation, foundations and trust regions, or risk and distributional
    RL; the others follow their figure family. Raises ValueError for an unmapped figure family.
    """
    if claim_id.startswith("P-"):
        return "practice"
    if claim_id in _TRACES:
        return "advantage"
    first = theme.split(",")[0].strip()
    if first in _BY_FIRST_THEME:
        return _BY_FIRST_THEME[first]
    if figure_family not in _BY_FIGURE_FAMILY:
        raise ValueError(f"figure_family: claim {claim_id} has family {figure_family!r}, which no paper section takes "
                         f"(known: {', '.join(_BY_FIGURE_FAMILY)})")
    return _BY_FIGURE_FAMILY[figure_family]


def swept_constants(record: dict) -> int:
    """How many distinct design constants the record's sensitivity sweep varied (0: not swept)."""
    return len({p.get("constant") for p in record.get("sensitivity") or []})


def family_tables(rows: list[dict]) -> dict[str, str]:
    """Section key → a LaTeX table of that section's ledger rows (claim, kind, verdict, the quote verdict of an
    extension claim, instances holding, how many design constants were swept — a claim not swept cannot be qualified
    by the sensitivity rule, so its confirmation carries no robustness check)."""
    from .registry import CLAIMS, load_claims
    from .render import by_kind, shown

    load_claims()
    out: dict[str, list[dict]] = {k: [] for k in PAPER_FAMILIES}
    unknown = [r["id"] for r in rows if r["id"] not in CLAIMS.names()]
    if unknown:
        raise ValueError(f"rows: claims not registered here, so no results section can be chosen: {', '.join(unknown)}")
    for r in rows:
        c = CLAIMS.get(r["id"])
        out[paper_family(c.id, c.theme, c.figure_family)].append(r)
    tables = {}
    for key, group in out.items():
        lines = [r"{\setlength{\tabcolsep}{3pt}\begin{tabular}{llllllrr}", r"\toprule",
                 r"Claim & Kind & Reading & Verdict & Quote & Rule & Held & Swept \\", r"\midrule"]
        for kind, part in by_kind(group):
            for r in part:
                inst = r.get("instances")
                held = f"{inst['holding']}/{inst['count']}" if isinstance(inst, dict) else "--"
                quote = r.get("quote_verdict") if r.get("extension") else None
                reading = READING_LABELS.get(r.get("reading"), "--") + _verifies_label(r)
                lines.append(f"{_tex(r['id'])} & {kind} & {reading} & {shown(r)} & "
                             f"{quote or '--'} & {rule_verdict_shown(r)} & {held} & {swept_constants(r) or '--'} \\\\")
        lines += [r"\bottomrule", r"\end{tabular}}", ""]
        tables[key] = "\n".join(lines)
    return tables


#: how a ``Claim.verifies`` text that verifies nothing of its sentence begins (the check is of our code only)
NOTHING_OF_THE_SENTENCE = "None of the quoted sentence"


def _verifies_label(record: dict) -> str:
    """The family table's mark beside a verified identity's reading: " (part)" when it verifies part of its sentence,
    " (code)" when it verifies none of it — our implementation only (a referee of the seed-21 ledger, finding 2: three
    identities were marked "(part)" whose "part" is not in the sentence). The label is read from the registered claim
    where it says so, since records written before 2026-12-02 carry the older wording (descriptive, not a verdict)."""
    text = _verifies(record)
    if not text:
        return ""
    from .registry import CLAIMS, load_claims

    load_claims()
    registered = CLAIMS.get(record["id"]).verifies if record["id"] in CLAIMS.names() else ""
    return " (code)" if (text.startswith(NOTHING_OF_THE_SENTENCE) or registered.startswith(NOTHING_OF_THE_SENTENCE)) else " (part)"


def _verifies(record: dict) -> str:
    """The part of its sentence a *verified* identity verifies, when the sentence asserts more (``Claim.verifies``):
    from the record, or, for a record written before the field existed, from the registered claim (descriptive, not a
    verdict); "" for an identity that was not verified (a pre-run audit, 2026-12-01: "Verified:" was printed for an
    inconclusive one)."""
    if record.get("kind") != "identity" or record.get("verdict") != "confirmed":
        return ""
    if record.get("verifies"):
        return record["verifies"]
    from .registry import CLAIMS, load_claims

    load_claims()
    return CLAIMS.get(record["id"]).verifies if record.get("kind") == "identity" and record["id"] in CLAIMS.names() else ""


def rule_verdict_shown(record: dict) -> str:
    """What the claim's own rule gave, shown beside the protocol's verdict where the two differ (2026-12-01, a referee of
    the seed-13 ledger: an undecided reading hid which way the rule came out): the rule's quoted part on our reading
    (``quote_part_verdict``) when the reading left the sentence undecided, else the raw verdict; "--" when it is the
    verdict shown."""
    v = record.get("quote_part_verdict") or record.get("raw_verdict")
    if not v or v == record.get("verdict"):
        return "--"
    # a rule's own flips inside its declared range, which an undecided reading keeps out of the shown verdict (a
    # referee of the seed-22 ledger, F9: L113-entropy and L119 read "confirmed" here though refuted at swept values)
    # (2026-12-02, a referee of the seed-23 ledger, F3: where v is the quoted part, a point's whole-rule verdict is not
    # the same statement -- L79 and L167 were marked though nothing of their quoted part moved; compare like with like)
    if v not in ("confirmed", "refuted"):
        return v
    key = "quote_verdict" if record.get("quote_part_verdict") else "verdict"
    flips = any(p.get(key) in ("confirmed", "refuted") and p[key] != v for p in record.get("sensitivity") or [])
    return v + (" (flips)" if flips else "")


#: short labels of the protocol's readings (``Claim.reading``) for tables
READING_LABELS = {"as-written": "as written", "our-criterion": "our criterion", "stand-in": "stand-in",
                  "no-result": "no result", "by-construction": "by constr."}


def readings_latex(rows: list[dict]) -> str:
    """The readings audit (protocol rule 2, 2026-12-01): a reading x shown-verdict count table, then every non-identity
    record whose reading leaves the quoted sentence undecided, with the quoted-part verdict its rule gave on that
    reading (when it had one) and the declared reason."""
    from .record import READINGS

    lines = _verdict_crosstab(rows, READINGS, lambda r: r.get("reading") or "undeclared",
                              lambda g: _tex(READING_LABELS.get(g, g)), "Reading", totals=False)
    lines += ["", r"\medskip", "",
              r"{\footnotesize\begin{longtable}{@{}p{4.6cm}p{1.7cm}p{1.4cm}p{7.4cm}@{}}", r"\toprule",
              r"Claim & Reading & Rule's quoted part & Why the sentence is undecided \\", r"\midrule", r"\endhead"]
    for r in rows:
        if r.get("kind") == "identity":
            continue
        if r.get("reading") not in (None, "as-written"):
            lines.append(f"{_breakable(r['id'])} & {_tex(READING_LABELS.get(r['reading'], r['reading']))} & "
                         f"{_tex(r.get('quote_part_verdict') or '--')} & {_tex(r.get('reading_note') or '')} \\\\")
        # a clause read other than as written decides a sentence read as written (2026-12-01, a referee of the
        # seed-13 ledger: the table listed L177 and P-tinker as read as written although a clause read "ours" decided them)
        for c in r.get("clauses") or []:
            if c.get("reading") not in ("as-written", "no-result"):
                lines.append(f"{_breakable(r['id'])}, clause ``{_tex(c['text'])}'' & "
                             f"{_tex(READING_LABELS.get(c['reading'], c['reading']))} & {_tex(c['verdict'])} & "
                             f"{_tex(c.get('note') or 'the clause is read by a criterion of ours (see the claim)')} \\\\")
    lines += [r"\bottomrule", r"\end{longtable}}", ""]
    part = [r for r in rows if r.get("kind") == "identity" and _verifies(r)]
    if part:
        lines += [r"\medskip", "", r"{\footnotesize\begin{longtable}{@{}p{4.6cm}p{10.7cm}@{}}", r"\toprule",
                  r"Identity (verified in part) & What ``verified'' covers, and what its sentence asserts beyond it \\",
                  r"\midrule", r"\endhead"]
        lines += [f"{_breakable(r['id'])} & {_tex(_verifies(r))} \\\\" for r in part]
        lines += [r"\bottomrule", r"\end{longtable}}", ""]
    return "\n".join(lines)


def reproducibility_latex(rows: list[dict]) -> str:
    """The reproducibility appendix's generated part: the commit(s), versions, hosts, the command and each claim's
    run time, from the ledger rows themselves (so the appendix cannot disagree with the table it documents)."""
    commits = sorted({str(r.get("git_commit")) for r in rows})
    seeds = sorted({(r.get("scale"), r.get("seed"), r.get("run_seed")) for r in rows}, key=str)
    versions = sorted({", ".join(f"{k} {v}" for k, v in sorted((r.get("versions") or {}).items())) for r in rows})
    hosts = sorted({f"{r.get('host')} ({r.get('device')})" for r in rows})
    total = sum(float(r.get("seconds") or 0) for r in rows)
    lines = [r"\begin{tabular}{@{}lp{12cm}@{}}", r"\toprule",
             rf"Commit & \texttt{{{_tex(', '.join(c[:12] for c in commits))}}}"
             rf"{' (clean tree)' if all(r.get('dirty') is False for r in rows) else ' (NOT a clean tree)'} \\",
             rf"Scale, seed & {_tex('; '.join(f'{sc}, seed {s} (run seed {rs})' for sc, s, rs in seeds))} \\",
             rf"Versions & {_tex('; '.join(versions))} \\", rf"Hosts & {_tex('; '.join(hosts))} \\",
             rf"Claims, time & {len(rows)} claims, {total / 3600:.1f} CPU-hours of claim run time in total \\"]
    if len(seeds) == 1 and seeds[0][0] and seeds[0][1] is not None:
        lines.append(rf"Command & \texttt{{pgtheory check --{seeds[0][0]} --seed {seeds[0][1]} "
                     r"--results RESULTS} at that commit, then \texttt{make -C paper tables figures} \\")
    lines += [r"\bottomrule", r"\end{tabular}", "", r"\medskip", "", r"{\footnotesize\begin{tabular}{@{}lr@{\quad}lr@{}}",
              r"\toprule", r"Claim & s & Claim & s \\", r"\midrule"]
    cells = [f"{_tex(r['id'])} & {float(r.get('seconds') or 0):.0f}" for r in rows]
    half = (len(cells) + 1) // 2
    for a, b in zip(cells[:half], cells[half:] + [" & "]):
        lines.append(f"{a} & {b} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}}", ""]
    return "\n".join(lines)


_SHOWN_VERDICTS = ("confirmed", "verified", "qualified", "inconclusive", "refuted")


def _verdict_crosstab(rows: list[dict], groups, group_of, label, header: str, *, totals: bool) -> list[str]:
    """LaTeX lines of a (group × shown verdict) count table: ``groups`` in order (empty ones skipped), ``group_of(row)``
    the row's group, ``label(group)`` its printed name; a dash is zero; ``totals`` adds an "All" row."""
    from .render import shown

    table = {g: dict.fromkeys(_SHOWN_VERDICTS, 0) for g in groups}
    for r in rows:
        table.setdefault(group_of(r), dict.fromkeys(_SHOWN_VERDICTS, 0))[shown(r)] += 1
    lines = [r"\begin{tabular}{l" + "r" * (len(_SHOWN_VERDICTS) + 1) + "}", r"\toprule",
             f"{header} & " + " & ".join(v.capitalize() for v in _SHOWN_VERDICTS) + r" & All \\", r"\midrule"]
    for g, c in table.items():
        if sum(c.values()):
            lines.append(f"{label(g)} & " + " & ".join(str(c[v]) if c[v] else "--" for v in _SHOWN_VERDICTS)
                         + f" & {sum(c.values())} \\\\")
    if totals:
        tot = {v: sum(c[v] for c in table.values()) for v in _SHOWN_VERDICTS}
        lines += [r"\midrule", "All & " + " & ".join(str(tot[v]) for v in _SHOWN_VERDICTS) + f" & {len(rows)} \\\\"]
    return lines + [r"\bottomrule", r"\end{tabular}"]


def counts_latex(rows: list[dict]) -> str:
    """A kind x verdict table of the ledger (identities count apart: a verified identity confirms no paper)."""
    from .record import KINDS

    return "\n".join(_verdict_crosstab(rows, KINDS, lambda r: r.get("kind") or "empirical", str.capitalize, "Kind",
                                       totals=True) + [""])


def verdict_changes(previous: list[dict], current: list[dict]) -> list[dict]:
    """The claims whose shown verdict differs between two ledgers (e.g. two confirmatory runs), in ``current``'s order.

    Each row: ``id``, ``kind``, ``before``/``after`` (shown verdicts), ``quote_before``/``quote_after`` (quote verdicts,
    None where the claim has no extension or the record predates the field) and ``why`` (the current record's first
    protocol note, "--" when the protocol changed nothing: the rule's own verdict is shown) and ``changed`` (the design
    fields that differ between the two records, :data:`_DESIGN_FIELDS`; empty: the same design on a new draw, or a
    change of code the record's fields do not show). A claim missing from either ledger is listed with ``None`` on
    that side.
    """
    from .render import shown

    prev, cur = {r["id"]: r for r in previous}, {r["id"]: r for r in current}
    ids = list(cur) + [i for i in prev if i not in cur]
    rows = []
    for i in ids:
        p, c = prev.get(i), cur.get(i)
        before, after = (shown(p) if p else None), (shown(c) if c else None)
        if before == after:
            continue
        src = c or p
        notes = src.get("protocol_notes") or []
        rows.append({"id": i, "kind": src.get("kind"), "before": before, "after": after,
                     "quote_before": p.get("quote_verdict") if p else None,
                     "quote_after": c.get("quote_verdict") if c else None,
                     "why": notes[0] if notes else "--",
                     "changed": _changed_fields(p, c)})
    return rows


#: record fields whose change between two ledgers means the claim's design or its reading changed, not only the draw
_DESIGN_FIELDS = ("kind", "reading", "extension", "quote", "test", "threshold", "settings")


def _changed_fields(p: dict | None, c: dict | None) -> list[str]:
    """The design fields that differ between two records of one claim. A reading absent from the older record (records
    before 2026-12-01 had none) is named only when it leaves the sentence undecided, "reading (new: stand-in)": as
    written or by construction, it changes no verdict."""
    if not (p and c):
        return []
    out = []
    for k in _DESIGN_FIELDS:
        if k == "reading" and k not in p:
            if c.get(k) in ("our-criterion", "stand-in", "no-result"):
                out.append(f"reading (new: {c[k]})")
        elif p.get(k) != c.get(k):
            out.append(k)
    return out


def _breakable(claim_id: str) -> str:
    """A claim id escaped for LaTeX that may break after its hyphens (long ids overflow narrow table columns)."""
    return _tex(claim_id).replace("-", r"-\allowbreak{}")


def verdict_changes_latex(changes: list[dict], before_label: str, after_label: str,
                          reasons: dict[str, str] | None = None) -> str:
    """A LaTeX table of :func:`verdict_changes` rows (claim, kind, verdicts before and after, quote verdict after, why).

    ``reasons`` (claim id → text): why each verdict moved — a rule revision (which), a new draw, a defect fixed —
    written by the authors from the claims' revision notes, since a revision made in code (a shared harness, a new
    rule) shows in no record field (a referee of the seed-22 ledger, finding 1). Given, it must name every changed
    claim and only those; it replaces the column of first protocol notes."""
    if reasons is not None:
        ids = {c["id"] for c in changes}
        missing, extra = sorted(ids - set(reasons)), sorted(set(reasons) - ids)
        if missing or extra:
            raise ValueError(f"reasons: must name exactly the changed claims (missing {missing}, not changed {extra})")
    last = "Why the verdict moved" if reasons is not None else "Quote verdict now; first protocol note"
    lines = [r"\begin{tabular}{p{3.4cm}lllp{2.2cm}p{5.0cm}}", r"\toprule",
             f"Claim & Kind & {_tex(before_label)} & {_tex(after_label)} & Changed fields & {last} " + r"\\",
             r"\midrule"]
    for c in changes:
        if reasons is not None:
            last_cell = _tex(reasons[c["id"]])
        else:
            # a claim without a record now shows no note of the earlier run (a referee of the seed-21 ledger, finding 10)
            why = "no record in this run" if not c["after"] else c["why"]
            why = why if len(why) <= 200 else why[:197] + "..."
            last_cell = f"{_tex(c['quote_after'] or '--')}; {_tex(why)}"
        lines.append(rf"\texttt{{{_breakable(c['id'])}}} & {_tex(c['kind'] or '--')} & {_tex(c['before'] or '--')} & "
                     rf"{_tex(c['after'] or '--')} & {_tex(', '.join(c.get('changed') or []) or 'none')} & "
                     rf"{last_cell} \\")
    if not changes:
        lines.append(r"\multicolumn{6}{l}{no verdict changed} \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def write_verdict_changes(previous_json: str | Path, current_json: str | Path, out: str | Path, *,
                          before_label: str, after_label: str, reasons_json: str | Path | None = None) -> Path:
    """Write :func:`verdict_changes_latex` of two ledger files to ``out`` (atomically); ``reasons_json``: a JSON object
    claim id → why its verdict moved (see :func:`verdict_changes_latex`)."""
    changes = verdict_changes(merge_ledgers(previous_json), merge_ledgers(current_json))
    reasons = None if reasons_json is None else json.loads(Path(reasons_json).read_text())
    atomic_write_text(Path(out), verdict_changes_latex(changes, before_label, after_label, reasons))
    return Path(out)


README_LEDGER_HEADING = "## The ledger"
_README_KIND_TITLES = {"empirical": "Empirical claims", "asymptotic": "Asymptotic claims",
                       "theorem": "Theorems, checked exactly on instance families",
                       "identity": "Identities and definitions (checks of our code, not confirmations of a paper)"}


def _md_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def readme_ledger_markdown(rows: list[dict]) -> str:
    """The README's ledger section, rendered from the paper's ledger rows (one commit, one seed): a heading that says
    which run, the counts per kind, and one table per kind with each claim's shown verdict and its run's summary."""
    from .render import by_kind, shown, verdict_counts

    commits = sorted({str(r.get("git_commit"))[:7] for r in rows})
    runs = sorted({f"{r.get('scale')} scale, run seed {r.get('run_seed')}" for r in rows})
    devices = sorted({str(r.get("device")) for r in rows})
    hours = sum(float(r.get("seconds") or 0) for r in rows) / 3600
    one_clean = len(commits) == 1 and all(r.get("dirty") is False for r in rows)
    provenance = "from one commit of a clean tree" if one_clean else "NOT from one commit of a clean tree"
    out = [f"{README_LEDGER_HEADING} ({'; '.join(runs)}, commit {', '.join(commits)}, {', '.join(devices).upper()}; "
           f"{len(rows)} claims)", "",
           f"Every claim run once, {provenance} ({hours:.1f} CPU-hours of claim time); generated from "
           "`paper/generated/ledger.json` by "
           "`make -C paper readme` (a test keeps this section and that file in step). Verdicts are the ones the protocol "
           "shows: an identity that holds is *verified*, never a confirmation of a paper; an extension can qualify but not "
           "refute. Totals: " + "; ".join(f"{k} {len(g)} ({verdict_counts(g)})" for k, g in by_kind(rows)) + ".", ""]
    for kind, group in by_kind(rows):
        out += [f"**{_README_KIND_TITLES.get(kind, 'Records without a kind')}** ({len(group)}: {verdict_counts(group)})",
                "", "| claim | paper (seed line) | verdict | evidence |", "|---|---|---|---|"]
        for r in group:
            marks = [f"read {READING_LABELS[r['reading']]}" if r.get("reading") not in (None, "as-written",
                                                                                     "by-construction") else "",
                     f"extension, quote {r.get('quote_verdict')}" if r.get("extension") else ""]
            inst = r.get("instances")
            marks.append("one instance" if isinstance(inst, dict) and inst.get("count") == 1 else "")
            marks.append("not swept" if kind != "identity" and not swept_constants(r) else "")
            ext = f" ({'; '.join(m for m in marks if m)})" if any(marks) else ""
            out.append(f"| `{r['id']}` | {_md_cell(r['paper'])} (L{r['seed_line']}) | **{shown(r)}**{ext} | "
                       f"{_md_cell(r['summary'])} |")
        out.append("")
    return "\n".join(out)


def update_readme_ledger(readme: str | Path, ledger_json: str | Path) -> Path:
    """Replace the README's ledger section (from its ``## The ledger`` heading to the next ``## `` heading) with
    :func:`readme_ledger_markdown` of ``ledger_json``'s rows (written atomically)."""
    path = Path(readme)
    text = path.read_text()
    start = text.find("\n" + README_LEDGER_HEADING)
    if start < 0:
        raise ValueError(f"readme: no '{README_LEDGER_HEADING}' section in {path}")
    end = text.find("\n## ", start + 1)
    end = len(text) if end < 0 else end
    rows = merge_ledgers(ledger_json)
    atomic_write_text(path, text[:start + 1] + readme_ledger_markdown(rows) + text[end:])
    return path
