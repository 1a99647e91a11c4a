"""Ray as the distributed backend (issue 16): two small claims on a local 2-CPU Ray give the local run's records.

Skipped where Ray is not installed (it is the optional extra ``pgtheory[ray]``; CI installs only ``[test]``).
"""
import pytest

from pgtheory.claims import check
from pgtheory.cli import main

ray = pytest.importorskip("ray", reason="Ray is the optional extra pgtheory[ray]")

IDS = ["L9-pg-theorem-autograd", "L55-trpo-lower-bound"]
WHERE = ("seconds", "host")  # how long and where it ran: everything else must be equal


def test_records_on_a_local_ray_equal_the_local_run(tmp_path):
    from pgtheory.claims.ray_backend import RayExecutor

    local = check(IDS, scale="quick", results=tmp_path / "local")
    ex = RayExecutor(num_cpus=2)
    try:
        remote = check(IDS, scale="quick", results=tmp_path / "ray", executor=ex)
    finally:
        ex.shutdown()
    strip = lambda r: {k: v for k, v in r.items() if k not in WHERE}
    assert [strip(r) for r in remote] == [strip(r) for r in local]
    assert not ray.is_initialized()  # the executor started its own instance and shut it down


def test_cli_refuses_an_address_without_the_ray_backend(tmp_path, capsys):
    assert main(["check", "--quick", IDS[0], "--address", "auto", "--results", str(tmp_path)]) == 2
    assert "address: only with --backend ray" in capsys.readouterr().err


def test_a_claims_shards_run_as_ray_tasks_and_give_the_local_verdicts(tmp_path):
    """L51 maps its arms, sweep points and twins through RunContext.map: under Ray they are nested Ray tasks."""
    from pgtheory.claims.ray_backend import RayExecutor, RayShardMapper

    (local,) = check(["L51-vagram-lqr"], scale="quick", results=tmp_path / "local")
    ex = RayExecutor(num_cpus=2)
    try:
        assert isinstance(ex.shard_mapper(), RayShardMapper)
        assert ex.shard_mapper()(abs, [-1, -2, 3]) == [1, 2, 3]
        (remote,) = check(["L51-vagram-lqr"], scale="quick", results=tmp_path / "ray", executor=ex)
    finally:
        ex.shutdown()
    for key in ("verdict", "raw_verdict", "instances", "n_samples", "summary"):
        assert remote[key] == local[key]
    assert [p["verdict"] for p in remote["sensitivity"]] == [p["verdict"] for p in local["sensitivity"]]
