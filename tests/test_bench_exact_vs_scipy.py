"""The exact-layer benchmark (issue 17) compares like with like: its scipy/numpy baselines compute the same numbers."""
import json
import runpy
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "exact_vs_scipy.py"


def test_exact_vs_scipy_baselines_agree_and_rows_are_complete(tmp_path, capsys):
    rows = runpy.run_path(str(BENCH))["main"](["--states", "20", "--rounds", "1", "--json", str(tmp_path / "b.json")])
    assert [r["task"] for r in rows] == ["evaluate_policy (V, Q, A, d, J)", "policy_iteration",
                                         "256 policies: one batched call"]
    for r in rows:
        assert r["S"] == 20 and r["pgtheory_s"] > 0 and r["baseline_s"] > 0 and r["max_abs_diff"] < 1e-12
    saved = json.loads((tmp_path / "b.json").read_text())
    assert saved["rows"] == rows and saved["threads"] >= 1
    assert "load average" in capsys.readouterr().out
