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


# --- the write-up: every claim of the paper's ledger is named, every non-confirmed one is discussed ---------------

from pathlib import Path  # noqa: E402
import json  # noqa: E402

from pgtheory.claims.paper import PAPER_FAMILIES  # noqa: E402

PAPER = Path(__file__).resolve().parents[1] / "paper"


def _paper_text() -> str:
    main = (PAPER / "main.tex").read_text(encoding="utf-8")
    parts = [main] + [(PAPER / f"{name}.tex").read_text(encoding="utf-8")
                      for name in re.findall(r"\\input\{(sections/[\w-]+)(?:\.tex)?\}", main)]
    return "\n".join(re.sub(r"(?<!\\)%.*", "", line) for line in "\n".join(parts).splitlines())  # drop comments


def _ledger_rows() -> list[dict]:
    return json.loads((PAPER / "generated" / "ledger.json").read_text())


def test_every_ledger_claim_is_named_and_every_non_confirmed_one_is_discussed():
    text = _paper_text()
    named = set(re.findall(r"\\(?:cid|discussion)\{([\w-]+)\}", text))
    discussed = re.findall(r"\\discussion\{([\w-]+)\}", text)
    rows = _ledger_rows()
    ids = {r["id"] for r in rows}
    assert sorted(ids - named) == [], "claims of the ledger never named in the paper"
    need = sorted(r["id"] for r in rows if r["verdict"] != "confirmed")
    assert [i for i in need if i not in discussed] == [], "non-confirmed claims without a discussion paragraph"
    # a claim added after the ledger is reported from its own committed record (paper/generated/*_full_seed*.json)
    addenda = {r["id"] for p in (PAPER / "generated").glob("*_full_seed*.json") for r in json.loads(p.read_text())}
    assert sorted(set(named) - ids - addenda) == [], "the paper names claims that are in neither its ledger nor a record"
    assert len(discussed) == len(set(discussed)), "a claim is discussed twice"


def test_a_section_per_family_with_its_generated_table_and_only_ascii_sources():
    main = (PAPER / "main.tex").read_text(encoding="utf-8")
    for key in PAPER_FAMILIES:
        assert f"\\input{{sections/{key}.tex}}" in main
        assert f"\\input{{generated/family_{key}.tex}}" in (PAPER / "sections" / f"{key}.tex").read_text(encoding="utf-8")
    for tex in [PAPER / "main.tex", *sorted((PAPER / "sections").glob("*.tex")), *sorted((PAPER / "generated").glob("*.tex"))]:
        bad = [(n + 1, line) for n, line in enumerate(tex.read_text(encoding="utf-8").splitlines()) if not line.isascii()]
        assert bad == [], f"{tex.name}: non-ASCII lines (pdflatex): {bad[:3]}"


def test_the_paper_discusses_a_planted_gap():
    """The checks above can fail: a ledger row that the text does not discuss is reported."""
    text = _paper_text()
    rows = _ledger_rows() + [{"id": "L999-planted", "verdict": "refuted"}]
    discussed = set(re.findall(r"\\discussion\{([\w-]+)\}", text))
    assert [r["id"] for r in rows if r["verdict"] != "confirmed" and r["id"] not in discussed][-1:] == ["L999-planted"]


def _row(cid, kind, verdict, summary, extension=False, commit="abc1234def", dirty=False):
    return {"id": cid, "paper": "A | paper", "seed_line": int(cid[1:].split("-")[0]), "kind": kind, "verdict": verdict,
            "summary": summary, "extension": extension, "git_commit": commit, "dirty": dirty, "scale": "full",
            "run_seed": 1008, "device": "cpu", "seconds": 1800.0}


def test_readme_ledger_section_is_rendered_from_the_rows_and_replaces_only_its_section(tmp_path):
    from pgtheory.claims.paper import readme_ledger_markdown, update_readme_ledger

    rows = [_row("L1-a", "identity", "confirmed", "holds\nexactly"), _row("L2-b", "empirical", "qualified", "x | y", True)]
    md = readme_ledger_markdown(rows)
    assert md.startswith("## The ledger (full scale, run seed 1008, commit abc1234, CPU; 2 claims)")
    assert "from one commit of a clean tree (1.0 CPU-hours" in md
    assert "| `L1-a` | A \\| paper (L1) | **verified** | holds exactly |" in md  # an identity shows as verified
    # pipes in a summary are escaped; an extension names its quote verdict; a single instance and no sweep are marked
    assert "**qualified** (extension, quote None; not swept) | x \\| y |" in md
    marked = dict(rows[1], quote_verdict="inconclusive", instances={"count": 1, "holding": 0},
                  sensitivity=[{"constant": "lr", "value": 1, "verdict": "refuted"}])
    assert "**qualified** (extension, quote inconclusive; one instance) |" in readme_ledger_markdown([rows[0], marked])
    plain = dict(marked, instances={"count": 20, "holding": 3}, extension=False)
    assert "**qualified** | x \\| y |" in readme_ledger_markdown([rows[0], plain])
    mixed = readme_ledger_markdown([rows[0], _row("L3-c", "theorem", "confirmed", "s", commit="other")])
    assert "NOT from one commit of a clean tree" in mixed
    ledger = tmp_path / "ledger.json"
    ledger.write_text(json.dumps(rows))
    readme = tmp_path / "README.md"
    readme.write_text("# T\n\n## Before\n\nkeep\n\n## The ledger (old)\n\nold table\n\n## After\n\nkeep too\n")
    update_readme_ledger(readme, ledger)
    text = readme.read_text()
    assert "old table" not in text and text.startswith("# T\n\n## Before\n\nkeep\n\n## The ledger (full scale")
    assert text.endswith("\n## After\n\nkeep too\n") and md in text
    readme.write_text("# no section\n")
    with pytest.raises(ValueError, match="readme: no '## The ledger' section"):
        update_readme_ledger(readme, ledger)


def test_every_figure_the_paper_includes_is_committed():
    """`make -C paper` builds from the tree: every \\includegraphics of the sections names a file in paper/figures/,
    and no committed paper figure is larger than 2 MB (a scatter of 10⁵ points must be rasterised, not vector)."""
    root = Path(__file__).resolve().parents[1] / "paper"
    text = "\n".join(p.read_text() for p in sorted((root / "sections").glob("*.tex")))
    names = re.findall(r"\\includegraphics(?:\[[^\]]*\])?\{([^}]+)\}", text)
    assert names
    missing = [n for n in names if not (root / "figures" / n).is_file()]
    assert not missing, missing
    big = [p.name for p in (root / "figures").glob("*.pdf") if p.stat().st_size > 2 * 2 ** 20]
    assert not big, big


def test_readme_ledger_section_is_the_one_rendered_from_the_paper_ledger():
    from pgtheory.claims.paper import README_LEDGER_HEADING, merge_ledgers, readme_ledger_markdown

    root = Path(__file__).resolve().parents[1]
    text = (root / "README.md").read_text()
    start = text.index("\n" + README_LEDGER_HEADING) + 1
    end = text.find("\n## ", start)
    section = text[start:] if end < 0 else text[start:end]
    assert section.strip() == readme_ledger_markdown(merge_ledgers(root / "paper" / "generated" / "ledger.json")).strip()


def test_reproducibility_table_has_balanced_braces_and_the_run_command():
    """The appendix table once had a stray '}' after its command (pdflatex stopped at \\bottomrule)."""
    from pgtheory.claims.paper import reproducibility_latex

    row = {"id": "L9-x", "git_commit": "abc1234def567", "dirty": False, "scale": "full", "seed": 9, "run_seed": 1009,
           "versions": {"torch": "2"}, "host": "h", "device": "cpu", "seconds": 3.0}
    for tex in (reproducibility_latex([row]),
                (Path(__file__).resolve().parents[1] / "paper" / "generated" / "reproducibility.tex").read_text()):
        bare = tex.replace("\\{", "").replace("\\}", "")
        assert bare.count("{") == bare.count("}")
    assert r"\texttt{pgtheory check --full --seed 9 --results RESULTS} at that commit" in reproducibility_latex([row])


def test_verdict_changes_lists_only_claims_whose_shown_verdict_moved():
    """The table of verdicts that changed between two confirmatory ledgers (seed 9 → seed 10 in the paper): an identity
    confirmed in both is unchanged even though its word is 'verified'; a claim that moved names its first protocol note;
    claims present on one side only are listed with a dash on the other."""
    from pgtheory.claims.paper import verdict_changes, verdict_changes_latex

    prev = [{"id": "L1-a", "kind": "identity", "verdict": "confirmed"},
            {"id": "L2-b", "kind": "empirical", "verdict": "confirmed", "quote_verdict": None},
            {"id": "L3-c", "kind": "empirical", "verdict": "refuted"}]
    cur = [{"id": "L1-a", "kind": "identity", "verdict": "confirmed"},
           {"id": "L2-b", "kind": "empirical", "verdict": "inconclusive", "quote_verdict": "inconclusive",
            "protocol_notes": ["inconclusive: the extension held, but ..."]},
           {"id": "L4-d", "kind": "theorem", "verdict": "confirmed", "summary": "exact; 10/10"}]
    ch = verdict_changes(prev, cur)
    assert [c["id"] for c in ch] == ["L2-b", "L4-d", "L3-c"]
    assert ch[0]["before"] == "confirmed" and ch[0]["after"] == "inconclusive" and ch[0]["why"].startswith("inconclusive:")
    assert ch[1]["before"] is None and ch[2]["after"] is None and ch[1]["why"] == "--"
    assert ch[0]["changed"] == [] and ch[1]["changed"] == []  # same design fields (L2-b); one side missing (L4-d)
    cur[1]["reading"] = "stand-in"  # a reading declared since the older record, which leaves the sentence undecided
    assert verdict_changes(prev, cur)[0]["changed"] == ["reading (new: stand-in)"]
    cur[1]["reading"] = "as-written"  # ... one that changes no verdict is not named
    assert verdict_changes(prev, cur)[0]["changed"] == []
    prev[1]["reading"], cur[1]["reading"] = "as-written", "stand-in"  # a reading that changed between the two runs
    assert verdict_changes(prev, cur)[0]["changed"] == ["reading"]
    tex = verdict_changes_latex(verdict_changes(prev, cur), "seed 9", "seed 10")
    assert tex.count(r"\\") == 4 and r"\texttt{L2-\allowbreak{}b}" in tex and "seed 10" in tex and "& reading &" in tex
    assert "no verdict changed" in verdict_changes_latex([], "a", "b")


def test_identities_that_verify_none_of_their_sentence_are_marked_code_not_part():
    """A referee of the seed-21 ledger (finding 2): "(part)" beside an identity whose "part" is not in its sentence."""
    from pgtheory.claims.paper import NOTHING_OF_THE_SENTENCE, _verifies_label

    base = {"kind": "identity", "verdict": "confirmed", "id": "L999-not-registered"}
    assert _verifies_label(dict(base, verifies=NOTHING_OF_THE_SENTENCE + " is verified; the check is of our code")) == " (code)"
    assert _verifies_label(dict(base, verifies="Verified: the identity. Not judged: the rest.")) == " (part)"
    assert _verifies_label(dict(base, verdict="inconclusive", verifies="Verified: x")) == ""


def test_verdict_changes_show_no_earlier_note_for_a_claim_without_a_record():
    from pgtheory.claims.paper import verdict_changes_latex

    row = {"id": "L999-x", "kind": "empirical", "before": "inconclusive", "after": None, "changed": [],
           "quote_after": None, "why": "inconclusive: an old note"}
    tex = verdict_changes_latex([row], "seed 20", "seed 21")
    assert "no record in this run" in tex and "an old note" not in tex
