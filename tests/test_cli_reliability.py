"""Reliability of the command line and the claim runner (issue #18): corrupt caches, missing figures,
quick-scale figures, one-line user errors, broken pipes, demo arguments, file modes, progress output.

Claims are replaced by a fake ``run_claim`` (and a fake registry), so nothing here runs a real claim.
"""
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

import pgtheory.claims.figures as figures
import pgtheory.claims.runner as runner
from pgtheory.cli import main

A, B = "L1-alpha", "L2-beta"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake(monkeypatch):
    """Two fake claims (A, B) whose run writes a record and a PNG/PDF figure; ``fake.calls`` lists the runs."""
    calls: list[str] = []

    def run_claim(cid, scale, seed, device, results, version, source=None, shards=None):
        calls.append(cid)
        res = Path(results)
        png = res / "figures" / f"{cid}.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(b"png " + cid.encode())
        png.with_suffix(".pdf").write_bytes(b"pdf " + cid.encode())
        rec = {"id": cid, "paper": "P", "seed_line": int(cid.split("-")[0][1:]), "claim": "c", "theme": "t", "test": "x",
               "verdict": "confirmed" if cid == A else "qualified", "statistic": 0.5, "threshold": "< 1", "n_samples": 3,
               "summary": "s", "details": {}, "figure": png.relative_to(res).as_posix(), "device": device,
               "seconds": 0.01, "scale": scale, "seed": seed, "code_version": version}
        runner.atomic_write_text(runner._cache_path(res, cid, scale, seed, version), json.dumps(rec))
        return rec

    monkeypatch.setattr(runner, "run_claim", run_claim)
    monkeypatch.setattr(runner, "all_claims", lambda: [SimpleNamespace(id=A), SimpleNamespace(id=B)])
    monkeypatch.setattr(runner, "claim_versions", lambda ids: dict.fromkeys(ids, "v0"))
    monkeypatch.setattr(figures, "figure_families", lambda: {"fam": [A, B]})
    return SimpleNamespace(calls=calls)


def run(argv):
    """``main(argv)``'s exit status, whether it returns it or argparse raises SystemExit."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as e:
        return e.code


def cache_file(res: Path, cid: str) -> Path:
    return runner._cache_path(res, cid, "quick", 0, "v0")


# 1. corrupt or unreadable cache files ------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"{not json", b'{"id": "L1-alpha", "verdict": "conf', b"\xff\xfe\x00garbage", b"[1, 2]",
                                     b'{"id": "L1-alpha"}'], ids=["invalid", "truncated", "not-utf8", "not-object", "not-record"])
def test_corrupt_cache_file_is_named_set_aside_and_rerun(fake, tmp_path, capsys, content):
    res = tmp_path / "r"
    bad = cache_file(res, A)
    bad.parent.mkdir(parents=True)
    bad.write_bytes(content)
    assert run(["check", "--quick", A, "--results", res]) == 0
    err = capsys.readouterr().err
    assert bad.name in err and "warning" in err and "Traceback" not in err
    assert fake.calls == [A]  # re-run
    assert bad.with_name(bad.name + ".corrupt").read_bytes() == content  # set aside, not deleted
    assert json.loads(bad.read_text())["id"] == A  # replaced by the fresh record
    assert [r["id"] for r in runner.load_ledger(res)] == [A]


def test_unreadable_cache_file_is_set_aside_and_rerun(fake, tmp_path, capsys):
    res = tmp_path / "r"
    bad = cache_file(res, A)
    bad.mkdir(parents=True)  # reading it raises IsADirectoryError (an OSError), even as root
    assert run(["check", "--quick", A, "--results", res]) == 0
    assert bad.name in capsys.readouterr().err
    assert fake.calls == [A] and bad.with_name(bad.name + ".corrupt").is_dir() and bad.is_file()


def test_write_ledger_survives_a_corrupt_cache_file(fake, tmp_path):
    res = tmp_path / "r"
    runner.check([A], results=res)
    bad = cache_file(res, B)
    bad.write_text('{"id": "L2-beta", "verd')
    with pytest.warns(runner.CacheWarning, match=bad.name):
        runner.write_ledger(res, "quick", 0, "v0")
    assert [r["id"] for r in runner.load_ledger(res)] == [A] and not bad.exists()


# 2. a cached claim whose figure is missing is redrawn ---------------------------------------------------

def test_figures_redraws_a_missing_figure(fake, tmp_path, capsys):
    res, out = tmp_path / "r", tmp_path / "out"
    assert run(["figures", "fam", "--results", res, "--out", out]) == 0
    assert fake.calls == [A, B] and (out / f"{A}.png").exists()
    (res / "figures" / f"{A}.pdf").unlink()
    (out / f"{A}.pdf").unlink()
    assert run(["figures", "fam", "--results", res, "--out", out]) == 0  # FileNotFoundError before the fix
    assert fake.calls == [A, B, A]  # only the claim without its figure re-ran
    assert (out / f"{A}.pdf").exists() and f"{A}" in capsys.readouterr().err


# 3. quick-scale figures never silently overwrite the full-scale ones ------------------------------------

def test_quick_figures_go_elsewhere_and_say_where(fake, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    committed = tmp_path / "figures" / f"{A}.png"
    committed.parent.mkdir()
    committed.write_bytes(b"full scale")
    assert run(["figures", "--quick", "--results", "r"]) == 0
    out = capsys.readouterr().out
    assert committed.read_bytes() == b"full scale"
    assert (tmp_path / "r" / "figures-quick" / f"{A}.png").exists()
    assert "quick-scale" in out and "r/figures-quick/" in out
    # naming figures/ explicitly is refused (before anything runs) unless --force
    calls = list(fake.calls)
    assert run(["figures", "--quick", "--results", "r", "--out", "figures"]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and len(err.strip().splitlines()) == 1 and fake.calls == calls
    assert committed.read_bytes() == b"full scale"
    assert run(["figures", "--quick", "--results", "r", "--out", "figures", "--force"]) == 0
    assert committed.read_bytes() == b"png " + A.encode()
    # full scale writes figures/ and says so
    assert run(["figures", "--results", "r"]) == 0
    out = capsys.readouterr().out
    assert "full-scale" in out and "figures/" in out


# 4. user errors: one line on stderr, non-zero exit, nothing runs -----------------------------------------

USER_ERRORS = {
    "jobs-zero": ["check", "--jobs", "0", A],
    "jobs-negative": ["check", "--jobs", "-2", A],
    "jobs-not-int": ["check", "--jobs", "two", A],
    "unknown-id": ["check", "L0-nope"],
    "unknown-id-after-a-known-one": ["check", A, "L0-nope"],
    "cuda-check": ["check", "--device", "cuda", A],
    "cuda-figures": ["figures", "--device", "cuda", "fam"],
    "cuda-demo": ["demo", "--device", "cuda"],
    "bad-device-demo": ["demo", "--device", "tpu"],
    "unknown-family": ["figures", "nofamily"],
    "figures-jobs-zero": ["figures", "--jobs", "0"],
    "demo-one-action": ["demo", "--actions", "1"],
    "demo-one-state": ["demo", "--states", "1"],
    "demo-no-batch": ["demo", "--batch", "0"],
    "unknown-benchmark": ["bench", "nope"],
}


@pytest.mark.parametrize("argv", list(USER_ERRORS.values()), ids=list(USER_ERRORS))
def test_user_errors_are_one_line_and_nothing_runs(fake, tmp_path, monkeypatch, capsys, argv):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = argv + (["--results", tmp_path / "r"] if argv[0] in ("check", "figures") else [])
    code = run(argv)
    err = capsys.readouterr().err
    assert code not in (0, None) and fake.calls == []
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"pgtheory {argv[0]}: error: ")


@pytest.mark.parametrize("where", ["file", "below-a-file", "unwritable"])
def test_bad_results_directory_is_one_line(fake, tmp_path, monkeypatch, capsys, where):
    path = tmp_path / "r"
    if where == "unwritable":
        import tempfile

        path.mkdir()
        path.chmod(0o555)
        if os.geteuid() == 0:  # root writes anyway: make the write probe fail as it would for a user

            def denied(*a, **k):
                raise PermissionError(13, "Permission denied")

            monkeypatch.setattr(tempfile, "TemporaryFile", denied)
    else:
        path.write_text("a file")
        path = path / "sub" if where == "below-a-file" else path
    try:
        code = run(["check", A, "--results", path])
    finally:
        (tmp_path / "r").chmod(0o755)
    err = capsys.readouterr().err
    assert code == 2 and fake.calls == []
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("pgtheory check: error: results: ") and str(path) in err


def test_a_bug_in_a_claim_keeps_its_traceback(fake, tmp_path, monkeypatch, capsys):
    """A claim's bug is not a user error: its full traceback is printed, the run exits 1 (other claims still run)."""
    def broken(*args):
        raise ValueError("boom inside the claim")

    monkeypatch.setattr(runner, "run_claim", broken)
    assert main(["check", A, "--results", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: boom inside the claim" in err and f"{A} raised" in err


# 5. broken pipes ---------------------------------------------------------------------------------------

def test_broken_pipe_is_quiet(monkeypatch):
    import pgtheory.cli as cli

    def closed(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "_list", closed)
    monkeypatch.setattr(cli, "_silence_stdout", lambda: None)  # do not point pytest's own stdout at /dev/null
    assert main(["list"]) == 141


@pytest.mark.parametrize("argv", [["list", "--json"], ["--help"]], ids=["list-json", "help"])
def test_writing_into_a_closed_pipe_has_no_traceback(argv):
    """``pgtheory list --json | head -1``: the reader has gone before the writer writes."""
    p = subprocess.Popen([sys.executable, "-m", "pgtheory.cli", *argv], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # long before anything is written (importing torch alone takes longer)
    err = p.stderr.read().decode()
    code = p.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert code == 141 if argv[0] == "list" else code in (0, 141)  # argparse's --help swallows write errors itself


# 6. demo: arguments validated, a failed cross-check is named --------------------------------------------

def test_demo_small_problem_passes(capsys):
    assert run(["demo", "--states", "2", "--actions", "2", "--batch", "1", "--device", "cpu"]) == 0
    assert "nan" not in capsys.readouterr().out


def test_demo_names_a_failed_cross_check(monkeypatch, capsys):
    import pgtheory.exact as exact

    good = exact.policy_gradient_autograd
    monkeypatch.setattr(exact, "policy_gradient_autograd", lambda *a, **k: 1.01 * good(*a, **k))
    assert run(["demo", "--states", "3", "--actions", "2", "--batch", "2", "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "cross-check failed" in err and "PG theorem vs autograd" in err and "VI vs LP" not in err


# 7. result files honour the umask ------------------------------------------------------------------------

@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_result_files_honour_the_umask(fake, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        assert runner.current_umask() == umask
        runner.atomic_write_text(tmp_path / "x.txt", "x")
        runner.check([A], results=tmp_path / "r")
    finally:
        os.umask(old)
    files = [tmp_path / "x.txt", cache_file(tmp_path / "r", A)] + [tmp_path / "r" / n for n in ("ledger.json", "LEDGER.md", "ledger_table.tex")]
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {f.name: oct(mode) for f in files}


# 8. progress: a line when each claim starts, a compact summary at the end --------------------------------

def test_check_prints_starts_and_a_compact_summary(fake, tmp_path, capsys):
    res = tmp_path / "r"
    assert run(["check", A, B, "--results", res]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    start = lines.index(f"  running {A} ...")
    assert lines[start + 1].split()[:2] == [A, "confirmed"]
    assert f"  running {B} ..." in lines
    assert "2 claim(s): 1 confirmed, 1 qualified (0 from the cache)" in out and f"{res}/LEDGER.md" in out
    assert f"| {A} |" not in out  # the table is not dumped
    assert run(["check", A, B, "--results", res, "--print-ledger"]) == 0
    out = capsys.readouterr().out
    assert f"| {A} |" in out and "(2 from the cache)" in out and "running" not in out


def test_parallel_check_reports_starts_and_finishes(fake, tmp_path):
    started, finished = [], []
    with ThreadPoolExecutor(2) as ex:
        recs = runner.check([A, B], results=tmp_path, executor=ex, on_start=started.append,
                            progress=lambda cid, rec, cached: finished.append((cid, cached)))
    assert sorted(started) == [A, B] and sorted(finished) == [(A, False), (B, False)]
    assert [r["id"] for r in recs] == [A, B]


def test_thread_policy_one_per_process_by_default_configurable(monkeypatch):
    """The thread policy (issue 17): 1 torch thread per claim process unless asked; "auto" shares the CPUs out over the
    workers (≥ 1; twin: one job keeps every CPU); $PGTHEORY_THREADS is read when no count is given; the
    initializer pins a worker's count."""
    import torch

    from pgtheory._perf import resolve_threads

    monkeypatch.delenv("PGTHEORY_THREADS", raising=False)
    assert resolve_threads(None) == 1 and resolve_threads(3) == 3
    assert resolve_threads("auto", jobs=2, cpus=2) == 1 and resolve_threads("auto", jobs=4, cpus=2) == 1
    assert resolve_threads("auto", jobs=2, cpus=16) == 8 and resolve_threads("auto", jobs=1, cpus=16) == 16
    monkeypatch.setenv("PGTHEORY_THREADS", "auto")
    assert resolve_threads(None, jobs=1, cpus=16) == 16
    monkeypatch.setenv("PGTHEORY_THREADS", "zero")
    with pytest.raises(ValueError, match="PGTHEORY_THREADS"):
        resolve_threads(None)
    for bad in (0, -2, True, "1.5"):
        with pytest.raises(ValueError, match="threads"):
            resolve_threads(bad)
    before = torch.get_num_threads()
    try:
        runner._init_worker(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


# 5. several seeds -------------------------------------------------------------------------------------------

def test_check_over_several_seeds_reports_verdict_frequencies(fake, tmp_path, capsys):
    res = tmp_path / "r"
    assert run(["check", "--quick", A, B, "--seeds", "0-2,5", "--results", res]) == 0
    out = capsys.readouterr().out
    data = json.loads((res / "verdict_frequencies_quick.json").read_text())
    assert data["seeds"] == [0, 1, 2, 5] and data["verdicts"] == {A: {"confirmed": 4}, B: {"qualified": 4}}
    assert fake.calls == [A, B] * 4 and "confirmed 4" in out
    assert run(["check", "--quick", A, "--seeds", "3-1", "--results", res]) == 2  # a decreasing range is refused
    assert "--seeds" in capsys.readouterr().err
    assert run(["check", "--quick", A, "--seeds", "1", "--seed", "2", "--results", res]) == 2  # one or the other


def test_verdict_frequencies_count_per_claim():
    recs = {0: [{"id": "L9-a", "verdict": "refuted"}], 1: [{"id": "L9-a", "verdict": "qualified"}],
            2: [{"id": "L9-a", "verdict": "refuted"}]}
    assert runner.verdict_frequencies(recs) == {"L9-a": {"refuted": 2, "qualified": 1}}


def test_jobs_default_to_one_process_per_available_cpu(monkeypatch):
    from pgtheory.cli import _available_cpus, build_parser

    monkeypatch.delenv("PGTHEORY_JOBS")
    assert build_parser().parse_args(["check"]).jobs == max(1, min(_available_cpus(), 8))
    monkeypatch.setenv("PGTHEORY_JOBS", "3")
    assert build_parser().parse_args(["check"]).jobs == 3 and build_parser().parse_args(["check", "--jobs", "1"]).jobs == 1
    with pytest.raises(SystemExit):
        build_parser().parse_args(["check", "--jobs", "0"])
