"""Tests of pgtheory.exact.projection_ensembles (L195: projection mixture operator, contraction, bound, disagreement)."""
from __future__ import annotations

import math

import numpy as np

import pytest
import torch

from pgtheory.exact.distributional import categorical_projection, quantile_projection
from pgtheory.exact.distributional_control import (ActionValueLaws, action_sup_wasserstein1,
                                                   categorical_evaluation_fixed_point, reward_law)
from pgtheory.exact.projection_ensembles import (categorical_member, projected_disagreement, ensemble_contraction_ratio, ensemble_disagreement,
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


def test_shift_pair_attains_gamma_exactly_and_a_nearly_right_discount_is_rejected():
    # ν = η + c on [0, HI/2]: T^π shifts by γc, Π_C keeps means inside its support, W1 ≥ |Δ mean| → ratio = γ exactly;
    # twin: the operator with γ(1 + 1e-8) (L195's SHIFT_TWIN_REL) is caught by the rule d1 ≤ γ d0 (1 + 1e-10)
    for seed in range(3):
        mdp, rw, pi, g = _instance(seed)
        eta = _random_laws(g, hi=HI / 4)
        nu = ActionValueLaws(eta.support + HI / 4, eta.probs)
        assert action_sup_wasserstein1(eta, nu) == pytest.approx(HI / 4, rel=1e-14)
        r = ensemble_contraction_ratio(mdp, pi, _cat_members(), eta, nu, rw)
        assert abs(r / GAMMA - 1) <= 1e-12
        twin = garnet(4, 2, 2, discount=GAMMA * (1 + 1e-8), seed=seed)
        rt = ensemble_contraction_ratio(twin, pi, _cat_members(), eta, nu, reward_law(twin, rw.values, rw.probs))
        assert rt > GAMMA * (1 + 1e-10)
        assert rt / GAMMA - 1 == pytest.approx(1e-8, rel=1e-4)


def test_projected_disagreement_by_hand_and_floor_positive():
    # δ_{0.5}: Π_C on {0, 1} gives ½δ0 + ½δ1, Π_Q with one atom gives δ_{0.5}; W1 = ½
    laws = ActionValueLaws(torch.tensor([0.5], dtype=D), torch.ones(1, 1, 1, dtype=D))
    members = [categorical_member(torch.tensor([0.0, 1.0], dtype=D)), quantile_member(1)]
    assert float(projected_disagreement(members, laws)[0, 0]) == pytest.approx(0.5, abs=1e-15)
    # a law on the grid with equal masses is fixed by both projections → floor 0
    on_grid = ActionValueLaws(torch.tensor([0.0, 1.0], dtype=D), torch.full((1, 1, 2), 0.5, dtype=D))
    members2 = [categorical_member(torch.tensor([0.0, 1.0], dtype=D)), quantile_member(2)]
    assert float(projected_disagreement(members2, on_grid)[0, 0]) == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="^members"):
        projected_disagreement(members[:1], laws)


def test_deep_sea_by_hand_and_its_return_laws_are_exact_after_size_plus_one_steps():
    from pgtheory.claims.library.l195_projection_ensembles import DS_SIZE, _deep_sea_laws
    from pgtheory.exact import evaluate_policy
    from pgtheory.problems.generators import deep_sea

    mdp = deep_sea(3, discount=0.9)
    assert mdp.n_states == 10 and mdp.n_actions == 2
    assert mdp.transitions[0, 1, 4] == 1.0 and mdp.transitions[0, 0, 3] == 1.0  # (0,0) → (1,1) right, (1,0) left
    assert mdp.transitions[8, 1, 9] == 1.0 and mdp.transitions[9, 0, 9] == 1.0  # last row → terminal, absorbing
    assert mdp.rewards[8, 1] == pytest.approx(1 - 0.01 / 3, abs=1e-15) and mdp.rewards[8, 0] == 1.0
    assert mdp.rewards[0, 1] == pytest.approx(-0.01 / 3, abs=1e-15) and mdp.rewards[9].abs().sum() == 0
    # always right from the start: -c - γc + γ²(1 - c)
    right = torch.zeros(10, 2, dtype=D)
    right[:, 1] = 1.0
    v = float(evaluate_policy(mdp, right).v[0])
    c = 0.01 / 3
    assert v == pytest.approx(-c - 0.9 * c + 0.81 * (1 - c), abs=1e-12)
    big = deep_sea(DS_SIZE, discount=0.9)
    pi = torch.softmax(torch.randn(big.n_states, 2, generator=torch.Generator().manual_seed(3), dtype=D), -1)
    laws, change, mean_err = _deep_sea_laws(big, pi, reward_law(big))
    assert change <= 1e-12 and mean_err <= 1e-12
    with pytest.raises(ValueError, match="^size"):
        deep_sea(1)
    with pytest.raises(ValueError, match="^move_cost"):
        deep_sea(3, move_cost=-1.0)


def _bonus_rate(biased: bool):
    """Tail slope (and CI) of E|b_n − b_∞| on the start's right action of a DS_SIZE deep sea; ``biased``: the twin,
    whose 'empirical' law keeps a fixed 5% of its mass on the lowest return (an estimator that never converges)."""
    from pgtheory.claims.library import l195_projection_ensembles as m
    from pgtheory.problems.generators import deep_sea
    from pgtheory.stats import fit_rate

    mdp = deep_sea(m.DS_SIZE, discount=m.GAMMA)
    pi = torch.softmax(torch.randn(mdp.n_states, 2, generator=torch.Generator().manual_seed(7), dtype=D), -1)
    laws, _, _ = m._deep_sea_laws(mdp, pi, reward_law(mdp))
    z_cat = torch.linspace(float(laws.support.min()), float(laws.support.max()), m.CAT_ATOMS[0], dtype=D)
    members = [categorical_member(z_cat), quantile_member(m.QUANT_ATOMS)]
    floor = float(projected_disagreement(members, laws)[0, 1])
    p = laws.probs[0, 1].numpy()
    p = p / p.sum()
    rng = np.random.default_rng(11)
    counts_grid = (256, 1024, 4096, 16384)
    devs = []
    for n in counts_grid:
        counts = rng.multinomial(n, p, size=400).astype(float)
        if biased:
            counts = 0.95 * counts
            counts[:, int(np.flatnonzero(p > 0)[0])] += 0.05 * n
        devs.append(np.abs(m._disagreement_of_counts(z_cat, laws.support, counts) - floor))
    dev = np.stack(devs, 1).reshape(20, 20, len(counts_grid)).mean(1)
    return floor, fit_rate(counts_grid, dev, seed=0)


def test_bonus_deviation_decays_like_inverse_sqrt_n_and_a_biased_estimator_twin_does_not():
    from pgtheory.claims.library import l195_projection_ensembles as m

    floor, fit = _bonus_rate(biased=False)
    assert floor > 1e-3  # the projection floor: the members disagree with the exact law
    assert fit.ci_high < -0.3 and fit.ci_low > -0.8  # decays at a rate near n^{-1/2}
    _, twin = _bonus_rate(biased=True)
    assert twin.ci_high > -0.3  # twin: a fixed bias leaves a plateau (no decay)
    # the fast per-row disagreement equals projected_disagreement of the two members
    mdp = m.deep_sea(4, discount=m.GAMMA)
    pi = torch.full((mdp.n_states, 2), 0.5, dtype=D)
    laws, _, _ = m._deep_sea_laws(mdp, pi, reward_law(mdp))
    z_cat = torch.linspace(-0.1, 10.0, 11, dtype=D)
    counts = np.random.default_rng(0).multinomial(50, (laws.probs[0, 1] / laws.probs[0, 1].sum()).numpy(), size=3)
    fast = m._disagreement_of_counts(z_cat, laws.support, counts.astype(float))
    slow = projected_disagreement([categorical_member(z_cat), quantile_member(m.QUANT_ATOMS)],
                                  ActionValueLaws(laws.support, torch.from_numpy(counts / 50.0).unsqueeze(1)))[:, 0]
    np.testing.assert_allclose(fast, slow.numpy(), rtol=0, atol=1e-13)


def test_l195_twin_rule_by_hand():
    from pgtheory.claims.library.l195_projection_ensembles import _twins_rejected

    bound = [{"twin_violated": False}, {"twin_violated": True}]
    assert _twins_rejected({"b_ratio_ok": [False, False], "a_bound": bound}) == (True, [True, True])
    # (B) not flagged on one MDP: the twin is not rejected (every MDP required)
    assert _twins_rejected({"b_ratio_ok": [False, True], "a_bound": bound}) == (False, [True, False])
    # the bound twin never violated: not rejected either
    assert _twins_rejected({"b_ratio_ok": [False, False], "a_bound": bound[:1] * 2})[0] is False


def test_l195_p1_flags_the_quantile_pair_but_not_a_categorical_one():
    # the judged twin (B) is caught by (A)'s own P1 rule; its twin — (B) with the quantile member replaced by a
    # categorical one (a W1 non-expansion: the hypothesis holds) — is not, so the twin judgment can fail
    from pgtheory.claims.library import l195_projection_ensembles as m

    hi = 1 / (1 - m.GAMMA)
    for seed in range(2):
        mdp, rewards, pi, g = m._instance(seed, m.GAMMA)
        ens_a, ens_b = m._ensembles(hi, m.CAT_ATOMS)
        cat_pair = [ens_b[0], m.categorical_member(torch.linspace(0, hi, m.QUANT_ATOMS, dtype=D))]
        flagged, caught = False, False
        for _ in range(2):
            eta, nu = m._random_laws(hi, g), m._random_laws(hi, g)
            for members, is_twin in ((ens_b, True), (cat_pair, False)):
                d = m._curve(mdp, pi, members, rewards, eta, nu, 10)
                over = bool((d[1:] / d[:-1] > m.GAMMA * (1 + m.RATIO_SLACK)).any())
                if is_twin:
                    flagged |= over
                else:
                    caught |= over
        assert flagged and not caught


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
    d = rec["details"]
    assert len(d["twin_shift"]) == 3 and len(d["twin_gamma"]) == 3  # γ″ (a code check) and γ′ (reported), per MDP
    assert len(d["b_twin_flagged"]) == 3  # the judged twin (B), per MDP (revision 4)
    assert all("b_twin_flagged" in p for p in rec["sensitivity"])
    xb = d["exploration_bonus"]
    assert len(xb["rows"]) == 4 and all(r["floor"] > 0 for r in xb["rows"])
    assert rec["code_checks"] == []
    assert (tmp_path / "figures" / "L195-projection-ensemble-contraction.png").exists()
