"""ECRM (Yu & Ying 2023): the η-augmented MDP, its DP optimum, the exact-CVaR direct value, the exact policy gradient
and the risk-averse REINFORCE estimator — each check with a twin that must fail."""
import hashlib
import importlib

import numpy as np
import pytest
import torch

from pgtheory.estimators.policy_gradient import policy_gradient_estimates
from pgtheory.estimators.risk_averse_pg import ECRM_PG_ESTIMATORS, ecrm_gradient_estimates, ecrm_step_costs
from pgtheory.exact import evaluate_policy, policy_gradient, policy_gradient_autograd, policy_gradient_finite_difference
from pgtheory.exact.ecrm import (ecrm_eta_grid, ecrm_objective, ecrm_optimum, ecrm_policy_gradient, ecrm_problem,
                                 lift_action_policy, nested_ecrm_value, one_step_risk, transformed_cost, var_eta_policy)
from pgtheory.exact.risk_measures import cvar_rockafellar_uryasev
from pgtheory.exact.solvers import policy_iteration
from pgtheory.policies import DirectPolicy, TabularSoftmax
from pgtheory.problems import TabularMDP, garnet
from pgtheory.sampling.mdp import sample_trajectories
from pgtheory.stats import bias_test, required_sample_size

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _instance(seed=1, S=4, A=2, gamma=0.8):
    mdp = garnet(n_states=S, n_actions=A, branching=2, discount=gamma, seed=seed)
    cost = torch.from_numpy(np.random.default_rng(seed).integers(0, 4, size=(S, A)).astype(float))
    return TabularMDP(mdp.transitions, -cost, gamma, mdp.initial), cost


def test_one_step_risk_by_hand_and_rockafellar_uryasev():
    z = torch.tensor([0.0, 1.0, 4.0], dtype=torch.float64)
    p = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    # CVaR_0.7 of the cost = mean of the worst 30%: 0.2·4 + 0.1·1 over 0.3 = 3.0; mean = 1.1
    assert float(one_step_risk(z, p, 1.0, 0.7)) == pytest.approx(3.0, abs=1e-12)
    assert float(one_step_risk(z, p, 0.5, 0.7)) == pytest.approx(0.5 * 1.1 + 0.5 * 3.0, abs=1e-12)
    # Rockafellar–Uryasev min_η η + E(X − η)_+/(1 − α) on a fine η grid (and by the reward-form RU on −X) agrees
    etas = torch.linspace(-1, 5, 60001, dtype=torch.float64)
    ru = (etas + ((z - etas[:, None]).clamp_min(0) * p).sum(-1) / 0.3).min()
    assert float(ru) == pytest.approx(3.0, abs=1e-9)
    assert float(-cvar_rockafellar_uryasev(-z, p, 0.3)) == pytest.approx(3.0, abs=1e-12)
    assert float(one_step_risk(z, p, 1.0, 0.0)) == pytest.approx(1.1, abs=1e-12)  # α = 0: the mean


def test_transformed_cost_by_hand():
    eta = torch.tensor([0.0, 2.0], dtype=torch.float64)
    # later step: (1 − λ)c + λ/(1 − α)(c − η_k)_+ + γλη_j with c = 3, k = 1 (η = 2), j = 1, λ = 0.5, α = 0.75, γ = 0.9
    assert float(transformed_cost(torch.tensor(3.0, dtype=torch.float64), 1, 1, eta, 0.5, 0.75, 0.9)) == pytest.approx(
        1.5 + 2.0 + 0.9, abs=1e-12)
    # first step (k = K = 2): c + γλη_j
    assert float(transformed_cost(torch.tensor(3.0, dtype=torch.float64), 2, 1, eta, 0.5, 0.75, 0.9)) == pytest.approx(3.9)


def test_lambda_zero_is_risk_neutral_value_and_gradient():
    mdp, cost = _instance()
    prob = ecrm_problem(mdp, 0.0, 0.7, costs=cost)
    pol = TabularSoftmax(4, 2)
    th = pol.random_params(generator=torch.Generator().manual_seed(0))
    neutral = -evaluate_policy(mdp, pol.probs(th)).objective
    # lift θ ↦ π̃ = π_θ(a|s)·q(j): the ECRM and its gradient (chain rule through the lift) are the risk-neutral ones
    with torch.enable_grad():
        t = th.clone().requires_grad_(True)
        q = torch.softmax(torch.arange(prob.n_eta, dtype=torch.float64), -1)  # any η law
        J = ecrm_objective(prob, lift_action_policy(prob, pol.probs(t), q))
        (g,) = torch.autograd.grad(J, t)
    assert float(J.detach()) == pytest.approx(float(neutral), abs=1e-12)
    assert torch.allclose(g, -policy_gradient(mdp, pol, th), atol=1e-11)
    # twin: at λ = 0.6 the value differs
    risky = ecrm_problem(mdp, 0.6, 0.7, costs=cost)
    assert abs(float(ecrm_objective(risky, lift_action_policy(risky, pol.probs(th)))) - float(neutral)) > 1e-2


def test_pg_theorem_equals_autograd_and_finite_differences_direct_and_softmax():
    mdp, cost = _instance(seed=2)
    prob = ecrm_problem(mdp, 0.5, 0.8, costs=cost)
    S2, A2 = prob.mdp.n_states, prob.mdp.n_actions
    g = torch.Generator().manual_seed(1)
    for pol in (TabularSoftmax(S2, A2), DirectPolicy(S2, A2)):
        th = pol.random_params(generator=g)
        pg = ecrm_policy_gradient(prob, pol, th)
        auto = -policy_gradient_autograd(prob.mdp, pol, th)
        fd = -policy_gradient_finite_difference(prob.mdp, pol, th, step=1e-6)
        assert torch.allclose(pg, auto, atol=1e-10)
        assert torch.allclose(pg, fd, atol=1e-7)
        # autograd through ecrm_objective itself (a different code path from the PG theorem)
        with torch.enable_grad():
            t = th.clone().requires_grad_(True)
            (ga,) = torch.autograd.grad(ecrm_objective(prob, pol.probs(t)), t)
        assert torch.allclose(pg, ga, atol=1e-10)
    # twin: the risk-neutral gradient (raw costs, no η terms) is a different vector
    pol = TabularSoftmax(S2, A2)
    th = pol.random_params(generator=g)
    raw = TabularMDP(prob.environment.transitions, prob.environment.rewards, mdp.discount, prob.mdp.initial)
    assert float((ecrm_policy_gradient(prob, pol, th) + policy_gradient(raw, pol, th)).abs().max()) > 1e-3


def test_ru_with_var_eta_equals_exact_cvar_value_and_other_etas_cost_more():
    mdp, cost = _instance(seed=3)
    prob = ecrm_problem(mdp, 0.6, 0.7, costs=cost)
    g = torch.Generator().manual_seed(2)
    for _ in range(5):
        pi = torch.softmax(2 * torch.randn(4, 2, generator=g, dtype=torch.float64), -1)
        exact = float(nested_ecrm_value(prob, lift_action_policy(prob, pi)))
        assert float(ecrm_objective(prob, var_eta_policy(prob, pi))) == pytest.approx(exact, abs=1e-12)
        # twin: any other η choice (uniform η law) gives a strictly larger RU value for this policy
        assert float(ecrm_objective(prob, lift_action_policy(prob, pi))) > exact + 1e-6


def test_dp_optimum_below_every_sampled_policy_and_attained():
    mdp, cost = _instance(seed=4)
    prob = ecrm_problem(mdp, 0.5, 0.8, costs=cost)
    sol = ecrm_optimum(prob)
    j_star = float((prob.mdp.initial * sol.v).sum())
    # Bellman optimality: v* = min over augmented actions of c̃ + γ P̃ v*
    ct = -prob.mdp.rewards
    bell = (ct + prob.mdp.discount * torch.einsum("xay,y->xa", prob.mdp.transitions, sol.v)).amin(-1)
    assert torch.allclose(bell, sol.v, atol=1e-10)
    g = torch.Generator().manual_seed(3)
    aug = torch.softmax(3 * torch.randn(300, prob.mdp.n_states, prob.mdp.n_actions, generator=g, dtype=torch.float64), -1)
    assert float(ecrm_objective(prob, aug).min()) >= j_star - 1e-12
    assert float(nested_ecrm_value(prob, aug).min()) >= j_star - 1e-12  # exact-CVaR value of any (history-dep.) policy
    acts = torch.softmax(3 * torch.randn(300, 4, 2, generator=g, dtype=torch.float64), -1)
    assert min(float(nested_ecrm_value(prob, lift_action_policy(prob, p))) for p in acts) >= j_star - 1e-12
    # attained: the DP policy's RU value and its exact-CVaR value both equal J*
    assert float(ecrm_objective(prob, sol.policy)) == pytest.approx(j_star, abs=1e-12)
    assert float(nested_ecrm_value(prob, sol.policy)) == pytest.approx(j_star, abs=1e-10)
    # the cost-value grid is exact for continuous η: a finer grid containing it gives the same optimum ...
    fine = torch.unique(torch.cat([ecrm_eta_grid(cost), torch.linspace(-1, 4, 23, dtype=torch.float64)]))
    pf = ecrm_problem(mdp, 0.5, 0.8, costs=cost, eta=fine)
    assert float((pf.mdp.initial * ecrm_optimum(pf).v).sum()) == pytest.approx(j_star, abs=1e-10)
    # ... and a twin grid that misses the cost values is strictly worse here
    coarse = ecrm_problem(mdp, 0.5, 0.8, costs=cost, eta=torch.tensor([0.5, 2.5], dtype=torch.float64))
    assert float((coarse.mdp.initial * ecrm_optimum(coarse).v).sum()) > j_star + 1e-6


def test_lambda_zero_dp_optimum_is_the_risk_neutral_optimum():
    mdp, cost = _instance(seed=5)
    p0 = ecrm_problem(mdp, 0.0, 0.9, costs=cost)
    j0 = float((p0.mdp.initial * ecrm_optimum(p0).v).sum())
    assert j0 == pytest.approx(-float((mdp.initial * policy_iteration(mdp).v).sum()), abs=1e-10)


def _tiny():
    mdp = garnet(n_states=2, n_actions=2, branching=2, discount=0.5, seed=3)
    cost = torch.tensor([[0.0, 2.0], [1.0, 3.0]], dtype=torch.float64)
    return ecrm_problem(TabularMDP(mdp.transitions, -cost, 0.5, mdp.initial), 0.7, 0.6, costs=cost)


def test_step_costs_rebuild_the_augmented_costs():
    prob = _tiny()
    pol = TabularSoftmax(prob.mdp.n_states, prob.mdp.n_actions)
    th = pol.random_params(generator=torch.Generator().manual_seed(5))
    tr = sample_trajectories(prob.environment, pol.probs(th), 200, torch.Generator().manual_seed(6))
    assert torch.allclose(ecrm_step_costs(tr, prob), -prob.mdp.rewards[tr.states, tr.actions], atol=1e-12)


def test_risk_averse_reinforce_unbiased_and_twins_rejected():
    prob = _tiny()
    pol = TabularSoftmax(prob.mdp.n_states, prob.mdp.n_actions)
    th = pol.random_params(generator=torch.Generator().manual_seed(0))
    truth = ecrm_policy_gradient(prob, pol, th)
    # near twin target: the gradient without the γλη_t term of the transformed cost (exact)
    ct = -prob.mdp.rewards
    eta_j = prob.eta.repeat_interleave(prob.n_actions).expand_as(ct)
    no_eta = TabularMDP(prob.mdp.transitions, -(ct - prob.base.discount * prob.lam * eta_j), 0.5, prob.mdp.initial)
    wrong = -policy_gradient(no_eta, pol, th)
    # plan n from a pilot so the near twin is detected with power 0.99 at α = 1e-6 (Bonferroni over coordinates)
    pilot = ecrm_gradient_estimates(sample_trajectories(prob.environment, pol.probs(th), 2000, torch.Generator().manual_seed(7)),
                                    pol, th, prob)
    diff = (truth - wrong).reshape(-1)
    k = int(diff.abs().argmax())
    n = required_sample_size(float(diff[k]), float(pilot.reshape(2000, -1)[:, k].std()), alpha=1e-6, power=0.99,
                             n_tests=diff.numel())
    assert n <= 60_000, n
    tr = sample_trajectories(prob.environment, pol.probs(th), n, torch.Generator().manual_seed(8))
    for name in ECRM_PG_ESTIMATORS:
        est = ecrm_gradient_estimates(tr, pol, th, prob, name)
        assert bias_test(est, truth).pvalue > 1e-6, name
        assert bias_test(est, wrong).pvalue < 1e-6, name  # the near twin is rejected by the same test
    # far twin: risk-neutral REINFORCE on the raw costs (no η) is biased for the ECRM gradient
    neutral = -policy_gradient_estimates(tr, pol, th, "reinforce")
    assert bias_test(neutral, truth).pvalue < 1e-6


def test_bad_inputs():
    mdp, cost = _instance()
    with pytest.raises(ValueError, match="^lam"):
        ecrm_problem(mdp, 1.5, 0.5, costs=cost)
    with pytest.raises(ValueError, match="^alpha"):
        ecrm_problem(mdp, 0.5, 1.0, costs=cost)
    with pytest.raises(ValueError, match="^costs"):
        ecrm_problem(mdp, 0.5, 0.5, costs=torch.zeros(3, 2))
    with pytest.raises(ValueError, match="^costs"):
        ecrm_problem(mdp, 0.5, 0.5, costs=torch.tensor([[float("nan"), 0.0]] * 4))
    with pytest.raises(ValueError, match="^eta"):
        ecrm_problem(mdp, 0.5, 0.5, costs=cost, eta=torch.zeros(0))
    with pytest.raises(TypeError, match="^mdp"):
        ecrm_problem("mdp", 0.5, 0.5)
    prob = ecrm_problem(mdp, 0.5, 0.5, costs=cost)
    with pytest.raises(ValueError, match="^augmented_initial"):
        ecrm_problem(mdp, 0.5, 0.5, costs=cost, augmented_initial=torch.ones(3) / 3)
    with pytest.raises(ValueError, match="^pi"):
        nested_ecrm_value(prob, torch.ones(4, 2) / 2)
    with pytest.raises(ValueError, match="^pi_action"):
        var_eta_policy(prob, torch.ones(4, 3) / 3)
    with pytest.raises(ValueError, match="^eta_probs"):
        lift_action_policy(prob, torch.ones(4, 2) / 2, torch.ones(2) / 2)
    with pytest.raises(TypeError, match="^problem"):
        ecrm_objective(mdp, torch.ones(4, 2) / 2)
    off_grid = ecrm_problem(mdp, 0.5, 0.5, costs=cost, eta=torch.tensor([0.25, 7.5], dtype=torch.float64))
    with pytest.raises(ValueError, match="^problem: a value at risk"):
        var_eta_policy(off_grid, torch.ones(4, 2) / 2)
    tiny = _tiny()
    pol = TabularSoftmax(tiny.mdp.n_states, tiny.mdp.n_actions)
    th = pol.random_params(generator=torch.Generator().manual_seed(0))
    tr = sample_trajectories(tiny.environment, pol.probs(th), 20, torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="^estimator"):
        ecrm_gradient_estimates(tr, pol, th, tiny, "nope")
    with pytest.raises(TypeError, match="^problem"):
        ecrm_gradient_estimates(tr, pol, th, "tiny")
    other = th.clone()
    other[:, 0] += 1.0  # a different policy (in every state) than the one the batch was sampled with
    with pytest.raises(ValueError, match="^theta"):
        ecrm_gradient_estimates(tr, pol, other, tiny)
    with pytest.raises(ValueError, match="^problem"):
        ecrm_step_costs(tr, _tiny_small())  # its augmented chain is smaller than the one the batch visits


# sha256 of (P, rewards, ρ, costs, repr(γ), name) of L37's stochastic_cliff, computed before it moved to
# pgtheory.problems.generators (2026-11-30, issue 14): the move must not change a single bit
_CLIFF_DIGESTS = (
    ((0.1, {}), "d5b0548881adb80c8e6d87b8a190621c8be1748e8823b1725e579530c37bdfad"),
    ((0.2, {}), "0969b197b6a34e534bbc4f07f16d134093e2debb58d0a8a3d78b39bace79ae8a"),
    ((0.257, {}), "65dca1e853feb05391d8c149ed5bdedf99caf0c4d76e761ced33fc510adbc3f6"),
    ((0.0, {}), "79c712816c20a9b00130c160adce91221d3cec1d310d49ba4ad896a9f2b726ac"),
    ((0.3, {"height": 4, "width": 5, "step_cost": 0.2, "cliff_cost": 2.0}),
     "8122aca7740e728cad0a373efd20df71a35be945e00f0930fea8400c48ebb2e2"),
)


def _cliff_digest(mdp, cost) -> str:
    h = hashlib.sha256()
    for t in (mdp.transitions, mdp.rewards, mdp.initial, cost):
        h.update(t.contiguous().numpy().tobytes())
    h.update(repr(float(mdp.discount)).encode())
    h.update(mdp.name.encode())
    return h.hexdigest()


def test_moved_stochastic_cliff_returns_the_same_tensors_as_before():
    from pgtheory.claims.library import l37_ecrm
    from pgtheory.problems.generators import stochastic_cliff

    assert l37_ecrm.stochastic_cliff is stochastic_cliff  # L37 uses the moved generator
    for (slip, kw), digest in _CLIFF_DIGESTS:
        assert _cliff_digest(*stochastic_cliff(slip, discount=l37_ecrm.GAMMA, **kw)) == digest
    # twin: a one-ulp change of the slip changes the digest (the check can fail)
    assert _cliff_digest(*stochastic_cliff(np.nextafter(0.2, 1.0), discount=0.8)) != _CLIFF_DIGESTS[1][1]
    # hand values (slip 0.2): from the start (row 2, col 0) "up" reaches (1, 0) w.p. 0.8 + 0.05, stays w.p. 0.05 + 0.05
    # (down and left hit walls), moves right w.p. 0.05; a cliff cell resets to the start at cost 1
    mdp, cost = stochastic_cliff(0.2)
    assert mdp.transitions[8, 0, 4] == pytest.approx(0.85, abs=1e-15)
    assert mdp.transitions[8, 0, 8] == pytest.approx(0.10, abs=1e-15)
    assert mdp.transitions[8, 0, 9] == pytest.approx(0.05, abs=1e-15)
    assert mdp.transitions[9, 2, 8] == 1.0 and cost[9, 2] == 1.0 and cost[0, 0] == 0.1
    assert mdp.transitions[11, 3, 11] == 1.0 and cost[11].abs().sum() == 0.0
    torch.testing.assert_close(mdp.transitions.sum(-1), torch.ones(12, 4, dtype=torch.float64), rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="^slip"):
        stochastic_cliff(1.5)
    with pytest.raises(ValueError, match="^width"):
        stochastic_cliff(0.1, width=2)
    with pytest.raises(ValueError, match="^discount"):
        stochastic_cliff(0.1, discount=1.0)


def _tiny_small():
    mdp = garnet(n_states=2, n_actions=1, branching=1, discount=0.5, seed=0)
    return ecrm_problem(mdp, 0.5, 0.5, costs=torch.zeros(2, 1, dtype=torch.float64))


@pytest.mark.slow
@pytest.mark.parametrize("claim_id", ["L37-ecrm-direct-pg-global", "L37-ecrm-softmax-pg-global"])
def test_claim_quick_run_returns_a_complete_record(claim_id, tmp_path):
    importlib.import_module("pgtheory.claims.library.l37_ecrm")  # registers the claims (the lead adds them to the library)
    from pgtheory.claims.protocol import validate_record
    from pgtheory.claims.runner import check

    (rec,) = check([claim_id], scale="quick", results=tmp_path)
    validate_record(rec)
    assert rec["verdict"] in ("confirmed", "qualified", "inconclusive", "refuted")
    assert rec["instances"]["count"] == 2 and len(rec["sensitivity"]) == 3
    assert rec["code_checks"] == []
