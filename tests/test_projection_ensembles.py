"""Tests of pgtheory.exact.projection_ensembles (L195: projection mixture operator, contraction, bound, disagreement)."""
from __future__ import annotations

import math

import pytest
import torch

from pgtheory.exact.distributional import categorical_projection, quantile_projection
from pgtheory.exact.distributional_control import (ActionValueLaws, action_sup_wasserstein1,
                                                   categorical_evaluation_fixed_point, reward_law)
from pgtheory.exact.projection_ensembles import (categorical_member, ensemble_contraction_ratio, ensemble_disagreement,
                                                 ensemble_fixed_point, ensemble_operator, fixed_point_error_bound,
                                                 mean_lipschitz, mixture_laws, project_laws, projection_mixture,
                                                 quantile_member, w1_lipschitz)
from pgtheory.exact.risk_measures import wasserstein1
from pgtheory.problems import garnet

pytestmark = pytest.mark.usefixtures("one_torch_thread")
D = torch.float64
GAMMA = 0.8
HI = 1 / (1 - GAMMA)


def _instance(seed: int, gamma: float = GAMMA):
    mdp = garnet(4, 2, 2, discount=gamma, seed=seed)
    rw = reward_law(mdp, torch.tensor([0.0, 1.0], dtype=D), torch.stack([1 - mdp.rewards, mdp.rewards], -1))
    g = torch.Generator().manual_seed(seed)
    pi = torch.softmax(torch.randn(4, 2, generator=g, dtype=D), -1)
    return mdp, rw, pi, g


def _random_laws(g, K=6, lo=0.0, hi=HI):
    z = torch.sort(lo + (hi - lo) * torch.rand(K, generator=g, dtype=D)).values
    e = -torch.log(torch.rand(4, 2, K, generator=g, dtype=D))
    return ActionValueLaws(z, e / e.sum(-1, keepdim=True))


def _cat_members():
    return [categorical_member(torch.linspace(0, HI, 7, dtype=D)), categorical_member(torch.linspace(0, HI, 5, dtype=D))]


def test_project_laws_matches_the_projections_of_distributional():
    g = torch.Generator().manual_seed(0)
    laws = _random_laws(g)
    z = torch.linspace(0, HI, 7, dtype=D)
    cat = project_laws(categorical_member(z), laws)
    ref = categorical_projection(laws.support.expand(4, 2, -1), laws.probs, z)
    assert torch.allclose(cat.probs, ref, atol=1e-14)
    q = project_laws(quantile_member(3), laws)
    theta = quantile_projection(laws.support.expand(4, 2, -1), laws.probs, 3)
    d = wasserstein1(q.support, q.probs, theta, torch.full_like(theta, 1 / 3))
    assert float(d.max()) < 1e-14


def test_hand_computed_mixture_and_quantile_counterexample():
    # one state, one action, N = 2 quantile atoms: μ = (¼+ε)δ_0 + (¾−ε)δ_1, ν = (¼−ε)δ_0 + (¾+ε)δ_1 have W1 = 2ε, but
    # their τ = ¼ quantiles are 0 and 1, so W1(Π_Q μ, Π_Q ν) = ½: ratio 1/(4ε) = 25 at ε = 0.01 (no finite W1 constant)
    eps = 0.01
    z01 = torch.tensor([0.0, 1.0], dtype=D)
    mu = ActionValueLaws(z01, torch.tensor([[[0.25 + eps, 0.75 - eps]]], dtype=D))
    nu = ActionValueLaws(z01, torch.tensor([[[0.25 - eps, 0.75 + eps]]], dtype=D))
    assert action_sup_wasserstein1(mu, nu) == pytest.approx(2 * eps, abs=1e-15)
    pq = quantile_member(2)
    assert action_sup_wasserstein1(project_laws(pq, mu), project_laws(pq, nu)) == pytest.approx(0.5, abs=1e-15)
    # Π_C on the same pair is a non-expansion
    pc = categorical_member(torch.tensor([0.0, 0.4, 1.0], dtype=D))
    assert action_sup_wasserstein1(project_laws(pc, mu), project_laws(pc, nu)) <= 2 * eps + 1e-15
    assert w1_lipschitz(pq) == math.inf and w1_lipschitz(categorical_member([0.0, 1.0])) == 1.0
    # the mixture of δ_0 and δ_1 is ½δ_0 + ½δ_1; its W1 to δ_0 is ½
    d0 = ActionValueLaws(torch.tensor([0.0], dtype=D), torch.ones(1, 1, 1, dtype=D))
    d1 = ActionValueLaws(torch.tensor([1.0], dtype=D), torch.ones(1, 1, 1, dtype=D))
    mix = mixture_laws([d0, d1])
    assert torch.allclose(mix.support, torch.tensor([0.0, 1.0], dtype=D))
    assert torch.allclose(mix.probs, torch.tensor([[[0.5, 0.5]]], dtype=D))


def test_mean_lipschitz_and_bound_by_hand():
    assert mean_lipschitz([1.0, 1.0]) == pytest.approx(1.0)
    assert mean_lipschitz([1.0, 3.0], p=2) == pytest.approx(math.sqrt(5.0))
    assert mean_lipschitz([1.0, math.inf]) == math.inf
    assert fixed_point_error_bound(0.3, 1.0, 0.9) == pytest.approx(3.0)
    assert fixed_point_error_bound(0.3, 2.0, 0.6) == math.inf


def test_mixture_of_identical_projections_is_that_projection():
    mdp, rw, pi, g = _instance(1)
    laws = _random_laws(g)
    z = torch.linspace(0, HI, 9, dtype=D)
    single = project_laws(categorical_member(z), laws)
    twice = projection_mixture([categorical_member(z), categorical_member(z)], laws).mixture
    assert action_sup_wasserstein1(single, twice) < 1e-14
    q = quantile_member(4)
    assert action_sup_wasserstein1(project_laws(q, laws), projection_mixture([q, q, q], laws).mixture) < 1e-14
    # and the ensemble operator of identical members is Π T^π
    one = ensemble_operator(mdp, pi, [categorical_member(z)], laws, rw).mixture
    two = ensemble_operator(mdp, pi, [categorical_member(z)] * 2, laws, rw).mixture
    assert action_sup_wasserstein1(one, two) < 1e-14


def test_contraction_ratio_at_most_gamma_for_categorical_ensembles_and_twin_exceeds():
    worst, twin_worst = 0.0, 0.0
    for seed in range(3):
        mdp, rw, pi, g = _instance(seed)
        for _ in range(3):
            eta, nu = _random_laws(g), _random_laws(g)
            worst = max(worst, ensemble_contraction_ratio(mdp, pi, _cat_members(), eta, nu, rw))
            # twin: a wrong operator (no discounting of the bootstrap: γ → 1) is not a γ-contraction
            eta1, nu1 = eta, nu
            mdp1 = garnet(4, 2, 2, discount=0.999, seed=seed)
            rw1 = reward_law(mdp1, torch.tensor([0.0, 1.0], dtype=D), torch.stack([1 - mdp1.rewards, mdp1.rewards], -1))
            wide = [categorical_member(torch.linspace(0, 1000, 7, dtype=D))]
            twin_worst = max(twin_worst, ensemble_contraction_ratio(mdp1, pi, wide, eta1, nu1, rw1))
    assert worst <= GAMMA * (1 + 1e-10)
    assert twin_worst > GAMMA


def test_categorical_plus_quantile_ensemble_is_not_a_gamma_contraction_in_w1():
    # Π_Q has no finite W1 constant, so the W1 proposition does not cover PE-DQN's pair; along the iteration some step
    # expands the sup-W1 distance by more than γ (the finding L195's extension reports)
    worst = 0.0
    for seed in range(2):
        mdp, rw, pi, g = _instance(seed)
        ens = [categorical_member(torch.linspace(0, HI, 7, dtype=D)), quantile_member(4)]
        for _ in range(3):
            eta, nu = _random_laws(g), _random_laws(g)
            for _ in range(6):
                worst = max(worst, ensemble_contraction_ratio(mdp, pi, ens, eta, nu, rw))
                eta = ensemble_operator(mdp, pi, ens, eta, rw).mixture
                nu = ensemble_operator(mdp, pi, ens, nu, rw).mixture
    assert worst > GAMMA * 1.1


def test_fixed_point_within_bound_and_tighter_twin_fails():
    twin_failed = False
    for seed in range(3):
        mdp, rw, pi, _ = _instance(seed)
        members = _cat_members()
        fp = ensemble_fixed_point(mdp, pi, members, rw, tol=1e-12)
        assert fp.converged
        ref = categorical_evaluation_fixed_point(mdp, pi, torch.linspace(0, HI, 2001, dtype=D), rw, tol=1e-12)
        err = action_sup_wasserstein1(fp.mixture, ref.laws)
        proj = action_sup_wasserstein1(projection_mixture(members, ref.laws).mixture, ref.laws)
        slack = ref.error_bound * (1 + 2 / (1 - GAMMA))
        assert err <= fixed_point_error_bound(proj, 1.0, GAMMA) + slack
        # it is a fixed point: Ω T η = η to round-off
        again = ensemble_operator(mdp, pi, members, fp.mixture, rw).mixture
        assert action_sup_wasserstein1(again, fp.mixture) < 1e-11
        # Π_C preserves means on its support, so the mixture's means are Q^π
        assert torch.allclose(fp.mixture.means(), ref.laws.means(), atol=1e-9)
        # twin: the bound without the 1/(1 − γ) propagation factor
        twin_failed |= err > proj + slack
    assert twin_failed


def test_disagreement_zero_iff_members_agree():
    g = torch.Generator().manual_seed(5)
    laws = _random_laws(g)
    z = torch.linspace(0, HI, 6, dtype=D)
    same = [project_laws(categorical_member(z), laws)] * 3
    assert float(ensemble_disagreement(same).abs().max()) == 0.0
    diff = [project_laws(categorical_member(z), laws), project_laws(quantile_member(3), laws)]
    b = ensemble_disagreement(diff)
    assert b.shape == (4, 2) and bool((b > 0).all())
    # two members: the average over ordered pairs i ≠ j is the one W1
    w = wasserstein1(diff[0].support, diff[0].probs, diff[1].support, diff[1].probs)
    assert torch.allclose(b, w, atol=1e-15)
    # a member differing at one (s, a) only: disagreement is 0 elsewhere
    p2 = same[0].probs.clone()
    p2[1, 0] = torch.flip(p2[1, 0], [0])
    b2 = ensemble_disagreement([same[0], ActionValueLaws(same[0].support, p2)])
    mask = torch.ones(4, 2, dtype=torch.bool)
    mask[1, 0] = False
    assert float(b2[mask].abs().max()) == 0.0 and float(b2[1, 0]) > 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="^support"):
        categorical_member([1.0, 0.0])
    with pytest.raises(ValueError, match="^n"):
        quantile_member(0)
    with pytest.raises(TypeError, match="^member"):
        project_laws("categorical", ActionValueLaws(torch.zeros(1, dtype=D), torch.ones(1, 1, 1, dtype=D)))
    with pytest.raises(ValueError, match="^members"):
        projection_mixture([], ActionValueLaws(torch.zeros(1, dtype=D), torch.ones(1, 1, 1, dtype=D)))
    with pytest.raises(ValueError, match="^member_laws"):
        ensemble_disagreement([ActionValueLaws(torch.zeros(1, dtype=D), torch.ones(1, 1, 1, dtype=D))])
    with pytest.raises(ValueError, match="^weights"):
        mixture_laws([ActionValueLaws(torch.zeros(1, dtype=D), torch.ones(1, 1, 1, dtype=D))] * 2, weights=[0.7, 0.7])
    with pytest.raises(ValueError, match="^constants"):
        mean_lipschitz([-1.0])
    with pytest.raises(ValueError, match="^discount"):
        fixed_point_error_bound(0.1, 1.0, 1.0)
    mdp, rw, pi, g = _instance(0)
    laws = _random_laws(g)
    with pytest.raises(ValueError, match="^nu"):
        ensemble_contraction_ratio(mdp, pi, _cat_members(), laws, laws, rw)
    with pytest.raises(TypeError, match="^eta"):
        ensemble_contraction_ratio(mdp, pi, _cat_members(), (laws.support, laws.probs), laws, rw)


def test_l195_quick_run_returns_a_complete_record(tmp_path):
    import pgtheory.claims.library.l195_projection_ensembles  # noqa: F401  (registers the claim)
    from pgtheory.claims.protocol import REQUIRED_RECORD_KEYS
    from pgtheory.claims.runner import check

    rec = check(["L195-projection-ensemble-contraction"], scale="quick", results=str(tmp_path))[0]
    assert set(REQUIRED_RECORD_KEYS) <= set(rec)
    assert rec["verdict"] in ("confirmed", "refuted", "inconclusive")  # shown as "verified" (an identity)
    assert rec["kind"] == "identity" and rec["extension"] is False
    assert len(rec["sensitivity"]) == 4
    assert (tmp_path / "figures" / "L195-projection-ensemble-contraction.png").exists()
