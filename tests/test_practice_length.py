"""Claims from practice on length and normalisation (issue 20): exact group updates, TRL's LUSPO reductions, and the
claims' quick records."""
from __future__ import annotations

import importlib

import pytest
import torch

from pgtheory.claims.library._length_instances import cosine, length_drift, length_instances, length_tasks, stale_ratios
from pgtheory.estimators import aggregation_weights, group_advantages
from pgtheory.estimators.group_update_expectation import expected_group_update
from pgtheory.estimators.difficulty_weight import difficulty_weight
from pgtheory.estimators.dp_token_mean import dp_token_mean_loss
from pgtheory.estimators.luspo_reduction import luspo_loss, luspo_token_weights, luspo_valid_decomposition

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _agg(kind):
    return lambda m: aggregation_weights(m, kind)


@pytest.fixture(scope="module")
def instances():
    return length_instances(3, 1)


# ---------------------------------------------------------------- exact expected group update


def test_expected_group_update_hand_computed():
    # N = 2 one-token responses, "scores" +1 / -1, rewards 1 / 0, G = 2, RLOO, weights 1/G: only mixed groups
    # contribute, each ĝ = ½(1·1) + ½(−1·−1) = 1, so E ĝ = 2p(1 − p).
    p = 0.3
    S = torch.tensor([[[1.0]], [[-1.0]]], dtype=torch.float64)
    mask = torch.ones(2, 1, dtype=torch.bool)
    e = expected_group_update(torch.tensor([p, 1 - p], dtype=torch.float64), S, torch.tensor([1.0, 0.0], dtype=torch.float64),
                              mask, 2, _agg("seq_mean_token_sum"), advantage="rloo")
    assert torch.allclose(e, torch.tensor([2 * p * (1 - p)], dtype=torch.float64), atol=1e-15)


@pytest.mark.parametrize("G", [2, 3])
def test_seq_mean_token_sum_with_rloo_is_the_policy_gradient(instances, G):
    for inst in instances:
        e = expected_group_update(inst.probs, inst.scores, inst.rewards, inst.mask, G, _agg("seq_mean_token_sum"))
        assert torch.allclose(e, inst.grad_j, atol=1e-12)
        c = expected_group_update(inst.probs, inst.scores, inst.rewards, inst.mask, G, _agg("constant"))
        assert torch.allclose(c * (G * inst.mask.shape[-1]) / G, inst.grad_j, atol=1e-12)  # 1/(G L_max) ⇒ ∇J / L_max


def test_twin_one_over_length_is_rejected_by_the_same_check(instances):
    cos = [cosine(expected_group_update(i.probs, i.scores, i.rewards, i.mask, 2, _agg("seq_mean_token_mean")), i.grad_j)
           for i in instances]
    assert min(cos) < 1 - 1e-6  # the check that passes seq-mean-token-sum fails for 1/|o|


def test_unit_ratios_equal_on_policy_and_stale_data_biases(instances):
    inst = instances[2]
    on = expected_group_update(inst.probs, inst.scores, inst.rewards, inst.mask, 2, _agg("constant"))
    ones = expected_group_update(inst.probs, inst.scores, inst.rewards, inst.mask, 2, _agg("constant"),
                                 token_ratios=torch.ones(inst.mask.shape, dtype=torch.float64))
    assert torch.allclose(on, ones, atol=1e-15)
    p_old, r = stale_ratios(inst, 0.0, torch.Generator().manual_seed(0))
    assert torch.allclose(p_old, inst.probs) and torch.allclose(r, torch.ones_like(r))
    p_old, r = stale_ratios(inst, 0.3, torch.Generator().manual_seed(0))
    st = expected_group_update(p_old, inst.scores, inst.rewards, inst.mask, 2, _agg("constant"), token_ratios=r)
    assert cosine(st, inst.grad_j) < 1 - 1e-6


def test_stale_constant_stays_parallel_to_the_length_free_update_and_twin_does_not(instances):
    # verl-2435's staleness rule (2026-12-01): cos(E ĝ_constant, E ĝ_seq_mean_token_sum) ≥ 1 − 1e-9 under the same
    # ratios; the 1/|o| twin (seq_mean_token_mean) fails the same check on some instance
    gen = torch.Generator().manual_seed(1)
    rel, rel_twin = [], []
    for inst in instances:
        p_old, r = stale_ratios(inst, 0.3, gen)
        upd = {k: expected_group_update(p_old, inst.scores, inst.rewards, inst.mask, 2, _agg(k), token_ratios=r)
               for k in ("constant", "seq_mean_token_sum", "seq_mean_token_mean")}
        rel.append(cosine(upd["constant"], upd["seq_mean_token_sum"]))
        rel_twin.append(cosine(upd["seq_mean_token_mean"], upd["seq_mean_token_sum"]))
    assert min(rel) >= 1 - 1e-9
    assert min(rel_twin) < 1 - 1e-6


def test_length_drift_is_zero_along_the_gradient(instances):
    for inst in instances:
        assert abs(length_drift(3.0 * inst.grad_j, inst)) < 1e-9


def test_expected_group_update_bad_inputs():
    S = torch.zeros(2, 1, 1, dtype=torch.float64)
    p = torch.tensor([0.5, 0.5], dtype=torch.float64)
    R = torch.tensor([1.0, 0.0], dtype=torch.float64)
    m = torch.ones(2, 1, dtype=torch.bool)
    with pytest.raises(ValueError, match="^token_scores"):
        expected_group_update(p, S[0], R, m, 2, _agg("constant"))
    with pytest.raises(TypeError, match="^token_weights"):
        expected_group_update(p, S, R, m, 2, "constant")
    with pytest.raises(ValueError, match="^token_ratios"):
        expected_group_update(p, S, R, m, 2, _agg("constant"), token_ratios=torch.ones(3, 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="^group_size"):
        expected_group_update(p, S, R, m, 0, _agg("constant"))


# ---------------------------------------------------------------- TRL LUSPO reductions


def _table():
    x = torch.tensor([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]], dtype=torch.float64)
    m = torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=torch.float64)
    return x, m


def test_luspo_hand_values():
    x, m = _table()
    # old: (1·2 + 2·2 + 3·1) / 6 = 1.5 = ½ (4/3 · 1.5 + 1/3 · 3); new: ½ (3 + 3) = 3
    assert float(luspo_loss(x, m, "mask_sum")) == pytest.approx(1.5, abs=1e-15)
    assert float(luspo_loss(x, m, "masked")) == pytest.approx(3.0, abs=1e-15)
    valid, leak = luspo_valid_decomposition(x, m)
    assert float(valid) == pytest.approx(1.5, abs=1e-15) and float(leak) == 0.0
    xs = torch.tensor([[2.0], [-1.0]], dtype=torch.float64)  # sequence-level (B, 1): the two forms agree
    assert float(luspo_loss(xs, m, "mask_sum")) == pytest.approx(float(luspo_loss(xs, m, "masked")), abs=1e-15)


def test_luspo_token_weights_are_the_autograd_weights():
    x, m = _table()
    for form in ("mask_sum", "masked"):
        xg = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(luspo_loss(xg, m, form), xg)
        assert torch.allclose(g, luspo_token_weights(m, form), atol=1e-15)
    assert torch.allclose(luspo_token_weights(m, "mask_sum"), torch.tensor([[2, 2, 2], [1, 1, 1]], dtype=torch.float64) / 6)


def test_luspo_twin_padding_leak_breaks_the_l2_over_t_formula():
    x, m = _table()
    x_pad = x + torch.tensor([[0.0, 0.0, 5.0], [0.0, 1.0, 1.0]], dtype=torch.float64)
    valid, leak = luspo_valid_decomposition(x_pad, m)
    assert float(valid) == pytest.approx(1.5, abs=1e-15)  # the valid part is unchanged …
    assert float(luspo_loss(x_pad, m, "mask_sum")) == pytest.approx(1.5 + float(leak), abs=1e-15)
    assert abs(float(leak)) > 1.0  # … and the twin (nonzero padding) moves the old loss off the L²/T formula


def test_luspo_bad_inputs():
    x, m = _table()
    with pytest.raises(ValueError, match="^form"):
        luspo_loss(x, m, "token_mean")
    with pytest.raises(ValueError, match="^mask"):
        luspo_loss(x, torch.tensor([[1, 1, 0], [0, 0, 0]], dtype=torch.float64))
    with pytest.raises(ValueError, match="^per_token_loss"):
        luspo_loss(x[:, :2], m)
    with pytest.raises(ValueError, match="^width"):
        luspo_token_weights(m, "mask_sum", width=0)


# ---------------------------------------------------------------- token-mean across data-parallel shards


def test_dp_token_mean_hand_values():
    # shard 0: one sequence of 1 token (loss 4); shard 1: one sequence of 3 tokens (losses 1, 1, 1)
    x = torch.tensor([[[4.0, 0.0, 0.0]], [[1.0, 1.0, 1.0]]], dtype=torch.float64)
    m = torch.tensor([[[1, 0, 0]], [[1, 1, 1]]], dtype=torch.float64)
    assert float(dp_token_mean_loss(x, m, "global")) == pytest.approx(7 / 4, abs=1e-15)
    assert float(dp_token_mean_loss(x, m, "dp_balanced")) == pytest.approx(7 / 4, abs=1e-15)  # ½ (4/2 + 3/2)
    assert float(dp_token_mean_loss(x, m, "per_rank")) == pytest.approx(2.5, abs=1e-15)  # twin: ½ (4/1 + 3/3)


def test_dp_balanced_equals_global_and_per_rank_twin_differs():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 2, 5, generator=gen, dtype=torch.float64)
    m = torch.arange(5)[None, None, :] < torch.tensor([[1, 2], [5, 5], [3, 1]])[..., None]
    g = dp_token_mean_loss(x, m, "global")
    assert float((dp_token_mean_loss(x, m, "dp_balanced") - g).abs()) < 1e-14
    assert float((dp_token_mean_loss(x, m, "per_rank") - g).abs()) > 1e-3
    # the gradient weights agree too: 1/Σ N_k on every real token
    xg = x.clone().requires_grad_(True)
    (w,) = torch.autograd.grad(dp_token_mean_loss(xg, m, "dp_balanced"), xg)
    assert torch.allclose(w, m.to(torch.float64) / m.sum(), atol=1e-15)


def test_dp_token_mean_bad_inputs():
    x = torch.zeros(2, 1, 3, dtype=torch.float64)
    m = torch.ones(2, 1, 3)
    with pytest.raises(ValueError, match="^reduction"):
        dp_token_mean_loss(x, m, "mean")
    with pytest.raises(ValueError, match="^loss"):
        dp_token_mean_loss(x[0], m[0])
    with pytest.raises(ValueError, match="^mask"):
        dp_token_mean_loss(x, torch.tensor([[[1, 0, 0]], [[0, 0, 0]]]))


# ---------------------------------------------------------------- GRPO difficulty weight


def test_difficulty_weight_hand_values():
    p = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    assert torch.allclose(difficulty_weight(p, 4, "rloo"), torch.ones(3, dtype=torch.float64), atol=1e-14)
    assert torch.allclose(difficulty_weight(p, 4, "mean"), torch.full((3,), 0.75, dtype=torch.float64), atol=1e-14)
    # G = 2, population std, ε = 0: every mixed group is {0, 1}, A = ±1 ⇒ w = 1 for every p
    assert torch.allclose(difficulty_weight(p, 2, "grpo", std="population", eps=0.0), torch.ones(3, dtype=torch.float64), atol=1e-14)
    # p → 0: only K = 0 matters: R_1 = 1 alone in G ⇒ A_1 = (1 − 1/G)/sqrt((1/G)(1 − 1/G)) = sqrt(G − 1)
    w0 = difficulty_weight(torch.tensor(0.0, dtype=torch.float64), 8, "grpo", std="population", eps=0.0)
    assert float(w0) == pytest.approx(7 ** 0.5, abs=1e-12)
    # Bessel = population × sqrt((G − 1)/G) at ε = 0
    wb = difficulty_weight(p, 8, "grpo", std="bessel", eps=0.0)
    wp = difficulty_weight(p, 8, "grpo", std="population", eps=0.0)
    assert torch.allclose(wb, wp * (7 / 8) ** 0.5, atol=1e-13)


def test_difficulty_weight_matches_enumeration_and_twin(instances):
    inst = instances[4]
    p = (inst.probs * inst.rewards).sum()
    def grpo(R):
        return group_advantages(R, "grpo")

    mu = expected_group_update(inst.probs, inst.scores, inst.rewards, inst.mask, 3, _agg("seq_mean_token_sum"), advantage=grpo)
    assert torch.allclose(mu, difficulty_weight(p, 3, "grpo") * inst.grad_j, atol=1e-12)
    # twin: the same closed form fails for a length-dependent aggregation (the advantage is not the only group effect)
    tw = expected_group_update(inst.probs, inst.scores, inst.rewards, inst.mask, 3, _agg("seq_mean_token_mean"), advantage=grpo)
    assert float((tw * 3 - difficulty_weight(p, 3, "grpo") * inst.grad_j).norm()) > 1e-6


def test_difficulty_weight_bad_inputs():
    with pytest.raises(ValueError, match="^p"):
        difficulty_weight(torch.tensor([1.5], dtype=torch.float64), 4)
    with pytest.raises(ValueError, match="^group_size"):
        difficulty_weight(torch.tensor([0.5], dtype=torch.float64), 1)


# ---------------------------------------------------------------- enumeration limits at every scale (referee s6c, B1)


def _enumerate_limit():
    import inspect

    from pgtheory.exact.groups import enumerate_groups

    return inspect.signature(enumerate_groups).parameters["max_groups"].default


@pytest.mark.parametrize("module, cid, tasks, key", [
    ("p_verl_2435_token_mean_unbiased", "P-verl-2435-token-mean-unbiased", "length_tasks", "group_sizes"),
    ("p_trl_6654_luspo_weighting", "P-trl-6654-luspo-weighting", "length_tasks", "group_sizes"),
    ("p_cosmos_rl_204_dp_balanced_token_mean", "P-cosmos-rl-204-dp-balanced-token-mean", "small_length_tasks", "settings"),
])
def test_group_counts_fit_the_enumeration_limit_at_every_scale(module, cid, tasks, key):
    import pgtheory.claims.library._length_instances as li
    from pgtheory.claims.registry import CLAIMS

    importlib.import_module(f"pgtheory.claims.library.{module}")
    claim, limit = CLAIMS.get(cid), _enumerate_limit()
    for scale in ("quick", "full"):
        entries = claim.scales[scale][key]
        sizes = [int(k) * int(g) for k, g in entries] if key == "settings" else [int(g) for g in entries]  # (K, G): K·G draws
        for seed in (0, 1004, 12345):  # N depends on V and L only; the seeds cover the random answers anyway
            for task in getattr(li, tasks)(seed):
                N = len(task.lengths)
                for G in sizes:
                    assert N**G <= limit, f"{cid} {scale}: {task.name} N = {N}, G = {G}: {N**G} > {limit}"


def test_group_count_check_has_teeth():
    # twin: the former full setting G = 4 on the N = 40 task exceeds the limit (the crash the referee reproduced)
    from pgtheory.exact.groups import enumerate_groups

    N = max(len(t.lengths) for t in length_tasks(0))
    assert N == 40 and N**4 > _enumerate_limit()
    with pytest.raises(ValueError, match="^group_size"):
        enumerate_groups(torch.full((N,), 1.0 / N, dtype=torch.float64), 4)


# ---------------------------------------------------------------- quick records


@pytest.mark.parametrize("module, cid", [
    ("p_verl_2435_token_mean_unbiased", "P-verl-2435-token-mean-unbiased"),
    ("p_trl_6654_luspo_weighting", "P-trl-6654-luspo-weighting"),
    ("p_cosmos_rl_204_dp_balanced_token_mean", "P-cosmos-rl-204-dp-balanced-token-mean"),
    ("p_tinker_cookbook_579_std_difficulty", "P-tinker-cookbook-579-std-difficulty"),
])
def test_quick_run_returns_a_complete_record(tmp_path, module, cid):
    importlib.import_module(f"pgtheory.claims.library.{module}")
    from pgtheory.claims.protocol import validate_record
    from pgtheory.claims.runner import check

    (rec,) = check([cid], scale="quick", results=tmp_path)
    validate_record(rec)
    assert rec["verdict"] in ("confirmed", "qualified", "inconclusive", "refuted")
    assert rec["code_checks"] == [] and rec["practice_source"]
    assert rec["details"]["practitioner_answer"] in rec["summary"]
