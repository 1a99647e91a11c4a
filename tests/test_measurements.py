"""Measure → decide → draw (issue 16): stored measurements round-trip, and figures are redrawn without running."""
import json

import numpy as np
import pytest
import torch

import pgtheory.claims.runner as runner
from pgtheory.claims import check
from pgtheory.claims.measurements import flatten_measurements, load_measurements, save_measurements
from pgtheory.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_measurements_round_trip_with_nesting_scalars_strings_and_tensors(tmp_path):
    m = {"a": np.arange(6.0).reshape(2, 3), "t": torch.tensor([1.5, 2.5]), "s": 0.25, "n": 3, "name": "exp",
         "nested": {"curve": [1.0, 2.0, 3.0], "labels": ["x", "y"]}}
    back = load_measurements(save_measurements(tmp_path / "m.npz", m))
    assert np.array_equal(back["a"], m["a"]) and np.array_equal(back["t"], [1.5, 2.5])
    assert back["s"] == 0.25 and back["n"] == 3 and back["name"] == "exp"
    assert np.array_equal(back["nested"]["curve"], [1.0, 2.0, 3.0]) and list(back["nested"]["labels"]) == ["x", "y"]


@pytest.mark.parametrize("bad, match", [({"a/b": 1}, "without '/'"), ({"": 1}, "non-empty"), ({"r": [[1], [2, 3]]}, "ragged"),
                                        ({"e": {}}, "empty dict"), ([1, 2], "expected a dict")])
def test_bad_measurements_are_refused_with_the_key_named(bad, match, tmp_path):
    with pytest.raises((ValueError, TypeError), match=match):
        flatten_measurements(bad)
    assert not (tmp_path / "m.npz").exists()


def test_a_drawing_claim_is_redrawn_from_the_store_without_running(tmp_path, monkeypatch, capsys):
    """L55 declares draw: its figure is redrawn from stored measurements; twin: with the store deleted it must run."""
    res = tmp_path / "r"
    (rec,) = check(["L55-trpo-lower-bound"], scale="quick", results=res)
    assert rec["measurements"] and (res / rec["measurements"]).is_file()
    png = res / rec["figure"]
    first = png.read_bytes()
    png.unlink()
    png.with_suffix(".pdf").unlink()
    ran = []
    monkeypatch.setattr(runner, "run_claim", lambda *a, **k: ran.append(a) or pytest.fail("ran the claim"))
    assert main(["figures", "trust_region", "--quick", "--results", str(res), "--out", str(tmp_path / "out"),
                 "--stored-only"]) == 2  # L39 in the same family has no draw function yet: refused by name
    assert "L39-ppo-clip-surrogate" in capsys.readouterr().err and not ran
    redrawn = runner.redraw_from_store("L55-trpo-lower-bound", "quick", 0, res)
    assert redrawn == rec and png.is_file() and png.with_suffix(".pdf").is_file() and not ran
    assert abs(len(png.read_bytes()) - len(first)) < 0.05 * len(first)  # the same figure (PNG bytes may differ by metadata)
    (res / rec["measurements"]).unlink()
    assert runner.redraw_from_store("L55-trpo-lower-bound", "quick", 0, res) is None  # twin: nothing stored → must run


def test_a_claim_declaring_draw_must_return_measurements_and_no_figure(tmp_path, monkeypatch):
    from dataclasses import replace

    from pgtheory.claims.registry import CLAIMS, load_claims

    load_claims()  # run alone, no earlier test has loaded the registry
    claim = CLAIMS.get("L55-trpo-lower-bound")
    real = claim.run

    def with_figure(ctx):
        ev = real(ctx)
        ev.measurements = None
        return ev

    monkeypatch.setitem(CLAIMS._items, claim.id, replace(claim, run=with_figure))
    with pytest.raises(runner.ClaimsFailed) as info:
        check(["L55-trpo-lower-bound"], scale="quick", results=tmp_path)
    assert "ValueError: measurements: claim L55-trpo-lower-bound declares draw" in info.value.failures["L55-trpo-lower-bound"]


def test_parallel_redraw_gives_the_serial_records_and_draws_every_figure(tmp_path):
    """``jobs`` > 1 draws from the store in spawned processes: the same records, every figure file written again."""
    from pgtheory.claims.figures import _redraw_all
    from pgtheory.claims.runner import claim_versions

    ids = ["L9-pg-theorem-autograd", "L55-trpo-lower-bound"]
    res = tmp_path / "r"
    recs = {r["id"]: r for r in check(ids, scale="quick", results=res)}
    versions = claim_versions(ids)
    for r in recs.values():
        (res / r["figure"]).unlink()
    parallel = dict(_redraw_all(ids, "quick", 0, res, versions, jobs=2))
    assert parallel == recs and all((res / r["figure"]).is_file() for r in recs.values())
    assert dict(_redraw_all(ids, "quick", 0, res, versions, jobs=1)) == recs


def test_check_redraws_a_missing_figure_from_the_store_instead_of_running(tmp_path, monkeypatch):
    """A cached record whose figure files are gone (a results store restored without figures) is kept and its figure
    redrawn; twin: without its measurements the claim must run again, with a warning that says why."""
    res = tmp_path / "r"
    (rec,) = check(["L55-trpo-lower-bound"], scale="quick", results=res)
    png = res / rec["figure"]
    png.unlink()
    png.with_suffix(".pdf").unlink()
    ran = []
    real = runner.run_claim
    monkeypatch.setattr(runner, "run_claim", lambda *a, **k: ran.append(a[0]) or real(*a, **k))
    assert check(["L55-trpo-lower-bound"], scale="quick", results=res) == [rec]
    assert not ran and png.is_file() and png.with_suffix(".pdf").is_file()
    png.unlink()
    (res / rec["measurements"]).unlink()
    with pytest.warns(runner.CacheWarning, match="no stored measurements to redraw it from"):
        check(["L55-trpo-lower-bound"], scale="quick", results=res)
    assert ran == ["L55-trpo-lower-bound"] and png.is_file()
