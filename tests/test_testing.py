"""pgtheory.testing: assert_unbiased and friends (with twins), the public strategies, the pytest plugin, claims from
other packages through the entry point, and the new-claim template."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from pgtheory.claims.template import claim_template, write_claim_template
from pgtheory.testing import (StatisticalAssertionError, assert_consistent, assert_rate, assert_unbiased,
                              assert_variance_at_most, planted_bias, scaled_twin, shifted_twin, strategies)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MEANS = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)
PI = torch.tensor([0.1, -0.3, 0.2], dtype=torch.float64).softmax(0)
TRUTH = PI * (MEANS - (PI * MEANS).sum())  # ∇_θ J of a softmax bandit


def reinforce(n, g, *, bias=0.0, baseline=None):
    """REINFORCE draws (e_a − π)(r − b) of a Bernoulli bandit's softmax gradient; ``baseline`` per arm (a wrong,
    action-dependent baseline biases it)."""
    a = torch.multinomial(PI, n, replacement=True, generator=g)
    r = (torch.rand(n, generator=g, dtype=torch.float64) < MEANS[a]).double()
    b = 0.0 if baseline is None else baseline[a]
    return (torch.nn.functional.one_hot(a, 3).double() - PI) * (r - b)[:, None] + bias


def test_unbiased_estimator_passes_and_one_percent_bias_fails():
    rep = assert_unbiased(reinforce, TRUTH, name="REINFORCE")
    assert rep.passed and rep.bias_bound <= rep.margin and rep.twins[0].caught
    assert rep.margin == pytest.approx(0.01 * float(TRUTH.abs().max()))
    assert rep.planted_power >= 0.99
    biased = lambda n, g: reinforce(n, g, bias=0.01 * float(TRUTH.abs().max()))  # noqa: E731
    with pytest.raises(StatisticalAssertionError) as e:
        assert_unbiased(biased, TRUTH, name="biased REINFORCE")
    msg = str(e.value)
    assert "biased REINFORCE" in msg and "bias interval" in msg and "seed=0" in msg
    assert e.value.report.result.pvalue < 1e-4


def test_deterministic_given_the_seed():
    a = assert_unbiased(reinforce, TRUTH, seed=3, relative_margin=0.05)
    b = assert_unbiased(reinforce, TRUTH, seed=3, relative_margin=0.05)
    assert a.n == b.n and np.array_equal(a.result.estimate, b.result.estimate)


def test_user_twins_must_be_caught():
    wrong_baseline = lambda n, g: reinforce(n, g, baseline=torch.tensor([0.0, 0.3, 0.6], dtype=torch.float64))  # noqa: E731
    rep = assert_unbiased(reinforce, TRUTH, relative_margin=0.05, twins={"action-dependent baseline": wrong_baseline})
    assert [t.caught for t in rep.twins] == [True, True]
    # a "twin" that is in fact unbiased (a constant baseline) is not caught, so the assertion reports a powerless twin
    right_baseline = lambda n, g: reinforce(n, g, baseline=torch.full((3,), 0.4, dtype=torch.float64))  # noqa: E731
    with pytest.raises(StatisticalAssertionError, match="NOT caught"):
        assert_unbiased(reinforce, TRUTH, relative_margin=0.05, twins={"constant baseline": right_baseline})


def test_built_in_scaled_and_shifted_twins():
    rep = assert_unbiased(reinforce, TRUTH, relative_margin=0.05,
                          twins={"×0.9": scaled_twin(reinforce, 0.9), "+shift": shifted_twin(reinforce, 0.1 * TRUTH.abs().max())})
    assert all(t.caught for t in rep.twins)
    with pytest.raises(ValueError, match="factor"):
        scaled_twin(reinforce, 1.0)
    with pytest.raises(ValueError, match="offset"):
        shifted_twin(reinforce, 0.0)


def test_underpowered_is_a_failure_not_a_pass():
    with pytest.raises(StatisticalAssertionError, match="underpowered"):
        assert_unbiased(reinforce, TRUTH, max_samples=5000)
    draws = reinforce(200, torch.Generator().manual_seed(0))
    with pytest.raises(StatisticalAssertionError, match="could not catch"):
        assert_unbiased(draws, TRUTH)


def test_planted_bias_spec_sets_the_twin():
    rep = assert_unbiased(reinforce, TRUTH, relative_margin=0.05, bias_twin=planted_bias(0.1))
    assert "0.1" in rep.twins[0].name or rep.twins[0].name.startswith("planted bias")


@pytest.mark.parametrize("kw, match", [
    (dict(alpha=0.7), "alpha"), (dict(margin=-1.0), "margin"), (dict(margin=float("nan")), "margin"),
    (dict(seed=-1), "seed"), (dict(pilot=3), "pilot"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        assert_unbiased(reinforce, TRUTH, **kw)


def test_bad_estimates():
    with pytest.raises(ValueError, match="margin"):
        assert_unbiased(reinforce, torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="asked for"):
        assert_unbiased(lambda n, g: torch.zeros(n, 2), TRUTH)
    with pytest.raises(ValueError, match="estimate"):
        assert_unbiased(lambda n, g: torch.full((n, 3), float("nan")), TRUTH)
    with pytest.raises(TypeError, match="estimate"):
        assert_unbiased("not an estimator", TRUTH)


def test_variance_bound():
    # exact: E[ĝĝᵀ] = Σ_a π_a m_a (e_a − π)(e_a − π)ᵀ since r² = r
    E = torch.eye(3, dtype=torch.float64) - PI
    total = float((PI * MEANS * (E * E).sum(1)).sum() - (TRUTH * TRUTH).sum())
    rep = assert_variance_at_most(reinforce, 1.02 * total, n=200_000)
    lo, hi = rep.confidence_interval()
    assert lo <= total <= hi
    with pytest.raises(StatisticalAssertionError, match="exceeds the bound"):  # the twin: a bound 5% too small
        assert_variance_at_most(reinforce, 0.95 * total, n=200_000)
    with pytest.raises(ValueError, match="bound"):
        assert_variance_at_most(reinforce, -1.0)


def test_rate():
    rng = np.random.default_rng(0)
    x = np.array([10, 100, 1000, 10000])
    errors = x ** -0.5 * np.exp(rng.normal(0, 0.05, size=(20, 4)))
    rep = assert_rate(x, errors, -0.5, tolerance=0.05)
    assert rep.ci_low <= -0.5 <= rep.ci_high
    with pytest.raises(StatisticalAssertionError, match="not inside"):  # twin: the O(1/n) rate
        assert_rate(x, errors, -1.0, tolerance=0.05)
    with pytest.raises(StatisticalAssertionError, match="one run"):
        assert_rate(x, errors[:1], -0.5)


def test_consistent_self_normalised_importance_sampling():
    # E_p[f] for p = (0.2, 0.8), f = (1, 3), from m draws of q = (0.5, 0.5): SNIS is biased O(1/m), consistent
    p, q, f = torch.tensor([0.2, 0.8]), torch.tensor([0.5, 0.5]), torch.tensor([1.0, 3.0], dtype=torch.float64)

    def snis(m, n, g):
        a = torch.multinomial(q.expand(n, 2), m, replacement=True, generator=g)
        w = (p / q)[a].double()
        return ((w * f[a]).sum(1) / w.sum(1))[:, None]

    out = assert_consistent(snis, torch.tensor([2.6], dtype=torch.float64), [2, 256], relative_margin=0.01)
    assert isinstance(out[0], str) and "failed" in out[0]  # m = 2: the O(1/m) bias is visible
    assert out[-1].passed


@settings(max_examples=10)
@given(strategies.mdps(max_states=4, max_actions=3))
def test_strategy_mdps_are_valid(mdp):
    assert mdp.n_states <= 4 and mdp.n_actions <= 3 and 0 <= mdp.discount <= 0.95


@settings(max_examples=10)
@given(strategies.bandits(), strategies.multi_prompt_bandits(), strategies.response_groups(),
       strategies.linear_mdps(), strategies.sequence_task_and_params())
def test_other_strategies_build_valid_problems(bandit, mpb, groups, lin, task_policy_theta):
    assert bandit.n_arms >= 2 and mpb.n_prompts >= 1
    assert groups.ndim == 2 and groups.shape[1] >= 2 and set(groups.unique().tolist()) <= {0.0, 1.0}
    assert lin.features.shape[-1] >= 1
    task, policy, theta = task_policy_theta
    assert theta.shape[0] == 1


@settings(max_examples=3)
@given(strategies.lqrs())
def test_strategy_lqrs(lqr):
    assert lqr.discount < 1


def _run(args, cwd, env_extra=None, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS="1", **(env_extra or {}))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_pytest_plugin_fixtures_marker_and_summary(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent("""
        import pytest, torch
        from pgtheory.testing import assert_unbiased

        @pytest.mark.statistical(false_failure_rate=2e-4)
        def test_mine(torch_generator, pgtheory_seed):
            assert isinstance(pgtheory_seed, int)
            x = torch.randn(3, generator=torch_generator)
            assert x.shape == (3,)
    """))
    r = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pgtheory statistical tests" in r.stdout and "0.0002" in r.stdout


def test_third_party_claim_through_the_entry_point(tmp_path):
    # the template written by the CLI, registered by a test-only "package" (a dist-info with the entry point)
    r = _run(["-m", "pgtheory.cli", "new-claim", "extra_claim", "--seed-line", "901", "--out", str(tmp_path)], tmp_path)
    assert r.returncode == 0 and (tmp_path / "extra_claim.py").exists() and (tmp_path / "test_extra_claim.py").exists()
    dist = tmp_path / "pgt_extra-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pgt-extra\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[pgtheory.claims]\nextra = extra_claim\n")
    code = ("import sys; from pgtheory.cli import main; main(['list']); "
            "sys.exit(main(['check', '--quick', 'L901-extra-claim', '--results', sys.argv[1]]))")
    r = _run(["-c", code, str(tmp_path / "res")], tmp_path, {"PYTHONPATH": str(tmp_path)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "L901-extra-claim" in r.stdout and "L9-" in r.stdout  # listed beside the built-in claims
    assert "confirmed" in r.stdout  # and run under the protocol (the template's REINFORCE claim holds)


def test_a_broken_claim_plugin_names_itself(monkeypatch):
    from importlib.metadata import EntryPoint

    import pgtheory.claims.registry as reg

    eps = [EntryPoint("broken", "no_such_module_xyz", reg.ENTRY_POINT_GROUP)]
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group=None: eps if group == reg.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(reg, "_loaded", False)
    with pytest.raises(ImportError, match="'broken'"):
        reg.load_claims()
    eps[:] = [EntryPoint("wrong", "builtins:len", reg.ENTRY_POINT_GROUP)]
    with pytest.raises(TypeError, match="'wrong'"):
        reg.load_claims()


def test_new_claim_template(tmp_path):
    from pgtheory.cli import main

    files = claim_template("my_claim", 7)
    assert set(files) == {"my_claim.py", "test_my_claim.py"}
    assert 'ID = "L7-my-claim"' in files["my_claim.py"]
    compile(files["my_claim.py"], "my_claim.py", "exec")
    write_claim_template("my_claim", 7, tmp_path)
    with pytest.raises(FileExistsError, match="exists"):
        write_claim_template("my_claim", 7, tmp_path)
    assert main(["new-claim", "my_claim", "--seed-line", "7", "--out", str(tmp_path)]) == 2
    for bad in ("My-Claim", "class", ""):
        with pytest.raises(ValueError, match="name"):
            claim_template(bad, 7)
    with pytest.raises(ValueError, match="seed_line"):
        claim_template("ok", 0)
