"""The claims ledger: records, runner (cache, resume, atomic files), rendering, CLI."""
import json

import pytest

from pgtheory.claims import CLAIMS, VERDICTS, Claim, Evidence, all_claims, check, load_ledger
from pgtheory.cli import main

FAST = ["L9-pg-theorem-autograd", "L55-trpo-lower-bound"]


def test_registry_and_records():
    claims = all_claims()
    assert {c.id for c in claims} >= set(FAST) | {"L9-softmax-pg-rates"}
    for c in claims:
        tied = c.id.startswith("P-") and c.practice_source if c.seed_line == 0 else c.id.startswith(f"L{c.seed_line}-")
        assert tied and c.test and set(c.scales) >= {"quick", "full"}
    with pytest.raises(ValueError, match="verdict: expected one of"):
        Evidence("maybe", 0.0, "", 1, "")
    with pytest.raises(ValueError, match="id: must start with 'L3-'"):
        Claim("L4-x", "p", 3, "c", "t", "e", "m", "test", {"quick": {}, "full": {}}, lambda ctx: None)


def test_check_writes_ledger_caches_and_resumes(tmp_path):
    res = tmp_path / "results"
    recs = check(FAST, scale="quick", results=res)
    ledger = load_ledger(res)
    assert [r["id"] for r in ledger] == sorted(FAST, key=lambda i: int(i.split("-")[0][1:]))
    for r in ledger:
        for key in ("id", "paper", "seed_line", "claim", "verdict", "statistic", "threshold", "n_samples", "device", "seconds", "figure"):
            assert key in r
        assert r["verdict"] in VERDICTS
        assert (res / "figures" / f"{r['id']}.png").exists() and (res / "figures" / f"{r['id']}.pdf").exists()
    md = (res / "LEDGER.md").read_text()
    assert all(f"| {i} |" in md for i in FAST)
    tex = (res / "ledger_table.tex").read_text()
    assert "L55-trpo-lower-bound".replace("_", r"\_") in tex and r"\end{tabular}" in tex
    assert not list(res.rglob("*.tmp"))  # atomic writes leave no partial files
    # cached: a second call returns the same records without running
    cache = sorted((res / "cache").glob("*.json"))
    mtimes = [p.stat().st_mtime_ns for p in cache]
    again = check(FAST, scale="quick", results=res)
    assert [p.stat().st_mtime_ns for p in cache] == mtimes and again == recs
    # resume: remove one record (an interrupted run) and only that claim runs again
    cache[0].unlink()
    check(FAST, scale="quick", results=res)
    assert cache[0].exists() and cache[1].stat().st_mtime_ns == mtimes[1]


def test_verdicts_of_the_exact_claims(tmp_path):
    recs = {r["id"]: r for r in check(FAST, scale="quick", results=tmp_path)}
    # exact identities: the PG theorem holds to round-off; TRPO's Theorem 1 has no violation
    assert recs["L9-pg-theorem-autograd"]["verdict"] == "confirmed"
    assert recs["L55-trpo-lower-bound"]["details"]["violations"] == 0


def test_unknown_claim_and_cli(tmp_path, capsys):
    with pytest.raises(ValueError, match="ids: unknown claim 'L0-nope'"):
        check(["L0-nope"], results=tmp_path)
    assert main(["list"]) == 0
    assert "L55-trpo-lower-bound" in capsys.readouterr().out
    assert main(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["id"]
    assert main(["check", "--quick", "L55-trpo-lower-bound", "--results", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "LEDGER.md" in out and (tmp_path / "r" / "ledger.json").exists()
    assert "| L55-trpo-lower-bound |" in (tmp_path / "r" / "LEDGER.md").read_text(encoding="utf-8")


def test_parallel_jobs_give_the_same_records(tmp_path):
    serial = check(FAST, scale="quick", results=tmp_path / "a")
    parallel = check(FAST, scale="quick", results=tmp_path / "b", jobs=2)
    strip = lambda r: {k: v for k, v in r.items() if k not in ("seconds",)}
    assert [strip(r) for r in serial] == [strip(r) for r in parallel]


def test_ledger_uses_the_runs_code_version(tmp_path, monkeypatch):
    """Editing the source during a run (a new code version) must not empty the ledger of that run."""
    import pgtheory.claims.runner as runner

    edited = []
    real_run = runner.run_claim
    monkeypatch.setattr(runner, "claim_versions", lambda ids: dict.fromkeys(ids, "v-edited" if edited else "v-run"))

    def run_then_edit(*args):
        rec = real_run(*args)
        edited.append(True)  # from now on the tree's current version differs from the run's
        return rec

    monkeypatch.setattr(runner, "run_claim", run_then_edit)
    check(["L55-trpo-lower-bound"], scale="quick", results=tmp_path)
    assert [r["id"] for r in json.loads((tmp_path / "ledger.json").read_text())] == ["L55-trpo-lower-bound"]
    runner.write_ledger(tmp_path, "quick", 0)  # a later rewrite against the edited tree drops the stale record
    assert json.loads((tmp_path / "ledger.json").read_text()) == []


@pytest.mark.parametrize("claim_id", sorted({c.id for c in all_claims()} - set(FAST)))
def test_every_claim_runs_at_quick_scale(claim_id, tmp_path):
    """The main job's unit: each registered claim runs at quick scale and returns a complete record with its figure."""
    (rec,) = check([claim_id], scale="quick", results=tmp_path)
    assert rec["verdict"] in VERDICTS and rec["summary"] and rec["n_samples"] >= 0  # 0 for exact-only claims
    assert (tmp_path / rec["figure"]).exists() and (tmp_path / rec["figure"]).with_suffix(".pdf").exists()


def test_merge_ledgers_keeps_one_row_per_claim(tmp_path):
    from pgtheory.claims.paper import merge_ledgers, write_paper_tables

    a = [{"id": "L55-x", "seed_line": 55, "v": 1}, {"id": "L9-y", "seed_line": 9, "v": 1}]
    b = [{"id": "L55-x", "seed_line": 55, "v": 2}]
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    rows = merge_ledgers(tmp_path / "a.json", tmp_path / "b.json")
    assert [(r["id"], r["v"]) for r in rows] == [("L9-y", 1), ("L55-x", 2)]
    recs = check(["L55-trpo-lower-bound"], scale="quick", results=tmp_path / "r")
    out = write_paper_tables(tmp_path / "r" / "ledger.json", out_dir=tmp_path / "gen", allow_mixed=True)  # a test tree is dirty
    assert json.loads(out[0].read_text())[0]["id"] == recs[0]["id"] and out[1].read_text().startswith("\\")


def test_latex_table_is_ascii_for_pdflatex():
    from pgtheory.claims.render import ledger_latex

    row = {"id": "L63-x", "paper": "ΔL Normalization; D³S; ∇J ≤ 1 — ☃", "verdict": "qualified", "statistic": 0.5, "n_samples": 3}
    tex = ledger_latex([row])
    assert tex.isascii() and r"$\Delta$L" in tex and r"$^3$" in tex and "?" in tex  # unmapped ☃ → '?'


def test_figure_families_are_declared_by_every_claim_and_each_has_its_script():
    """Issue 16: families are derived from ``Claim.figure_family``; each has ``experiments/<family>.py``."""
    from pathlib import Path

    from pgtheory.claims.figures import OTHER_FAMILY, figure_families, validate_families

    fams = figure_families()
    assert OTHER_FAMILY not in fams, fams.get(OTHER_FAMILY)  # every built-in claim names its family
    assert sorted(i for ids in fams.values() for i in ids) == sorted(c.id for c in all_claims())
    root = Path(__file__).resolve().parents[1]
    for f in fams:
        assert f'family_main("{f}")' in (root / "experiments" / f"{f}.py").read_text(), f
    with pytest.raises(ValueError, match="families: unknown family 'nope'"):
        validate_families(["nope"])


def test_a_claim_without_a_family_goes_to_other_and_a_bad_family_name_is_refused(monkeypatch):
    from dataclasses import replace

    import pgtheory.claims.figures as figures

    c = all_claims()[0]
    plugin = replace(c, id=c.id + "-plugin", figure_family="")
    monkeypatch.setattr(figures, "all_claims", lambda: [c, plugin])
    assert figures.figure_families() == {c.figure_family: [c.id], figures.OTHER_FAMILY: [plugin.id]}
    with pytest.raises(ValueError, match="figure_family"):
        replace(c, figure_family="not a name")


def test_a_claim_from_practice_is_tied_to_a_thread_not_a_seed_line():
    from dataclasses import replace

    c = all_claims()[0]
    p = replace(c, id="P-trl-4967-kl-in-loss", seed_line=0, practice_source="huggingface/trl#4967 (2025-11-02)")
    assert p.describe()["practice_source"] == "huggingface/trl#4967 (2025-11-02)"
    with pytest.raises(ValueError, match="practice_source: expected"):
        replace(p, practice_source="trl 4967")
    with pytest.raises(ValueError, match="a claim from practice"):
        replace(p, id="L0-kl")
    with pytest.raises(ValueError, match="its seed line"):
        replace(c, id="P-trl-4967-kl-in-loss")  # twin: without a practice source the id must name a seed line


@pytest.mark.parametrize("pool", [False, True], ids=["in-process", "executor"])
def test_a_claim_that_raises_does_not_stop_the_others(tmp_path, monkeypatch, capsys, pool):
    """Every chosen claim is tried; the finished ones are cached and in the ledger; the failure is reported at the end."""
    from concurrent.futures import ThreadPoolExecutor

    import pgtheory.claims.runner as runner

    real_run = runner.run_claim

    def fail_l9(cid, *args):
        if cid == "L9-pg-theorem-autograd":
            raise ArithmeticError("injected failure")
        return real_run(cid, *args)

    monkeypatch.setattr(runner, "run_claim", fail_l9)
    ex = ThreadPoolExecutor(1) if pool else None
    try:
        with pytest.raises(runner.ClaimsFailed, match=r"1 claim\(s\) raised: L9-pg-theorem-autograd") as info:
            check(FAST, scale="quick", results=tmp_path, executor=ex)
    finally:
        if ex is not None:
            ex.shutdown()
    assert list(info.value.failures) == ["L9-pg-theorem-autograd"]
    assert "ArithmeticError: injected failure" in info.value.failures["L9-pg-theorem-autograd"]
    assert [r["id"] for r in info.value.records] == ["L55-trpo-lower-bound"]
    assert [r["id"] for r in load_ledger(tmp_path)] == ["L55-trpo-lower-bound"]
    # the CLI reports the failure and exits non-zero; the finished claim comes from the cache
    assert main(["check", "--quick", *FAST, "--results", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "injected failure" in captured.err and "1 from the cache" in captured.out


def test_run_context_map_is_a_plain_loop_unless_a_mapper_is_given():
    from pgtheory.claims import RunContext

    ctx = RunContext("quick", {}, 0, "cpu", ".")
    assert ctx.map(abs, [-1, 2, -3]) == [1, 2, 3]
    calls = []
    mapped = RunContext("quick", {}, 0, "cpu", ".", mapper=lambda fn, xs: calls.append(xs) or [fn(x) for x in xs])
    assert mapped.map(abs, (x for x in [-1, -2])) == [1, 2] and calls == [[-1, -2]]
    assert mapped.map(abs, [-5]) == [5] and len(calls) == 1  # one shard: no mapper round trip
    broken = RunContext("quick", {}, 0, "cpu", ".", mapper=lambda fn, xs: [fn(xs[0])])
    with pytest.raises(RuntimeError, match="mapper: returned 1 results for 2 shards"):
        broken.map(abs, [1, 2])


def test_l9_numerical_reference_resolves_tiny_gradients_and_rejects_a_wrong_one():
    """Revision 2026-12-01: the seed-13 run read the PG-theorem identity 'refuted' on a pair whose gradient norm was
    9.8e-7 (central differences' round-off, not the theorem). The reference is now the complex-step derivative: on that
    pair and the two seed-14 pairs it agrees with the theorem far inside the declared 1e-6; twin: a gradient off by 1e-4
    relative is rejected on every pair (deterministic: exact solves, no sampling)."""
    from pgtheory.claims.library import l9_pg_theorem as m
    from pgtheory.exact import policy_gradient

    for c in m.COUNTEREXAMPLES:
        spec = c["instance"]
        mdp, pol, th = next(x for k, x in enumerate(m._pairs(spec["pair"] // 2 + 1, spec["run_seed"])) if k == spec["pair"])
        g = policy_gradient(mdp, pol, th)
        ref = m._complex_step_gradient(mdp, pol, th)
        assert m._rel(g, ref) < m.TOL_NUMERIC / 100
        assert m._rel(g * (1 + 1e-4), ref) > m.TOL_NUMERIC
