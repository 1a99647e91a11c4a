"""The multi-epoch harness's revisions of 2026-12-02: matched levels read between measured epochs only, and mini-batch
orders drawn from a stream disjoint from every replicate's seed."""
import numpy as np
import pytest
import torch

from pgtheory.claims.library import _multi_epoch as me
from pgtheory.stats import frontier_at_progress


def _sqrt_law_runs(first_kl, epochs=4, c=1.0):
    """Two identical runs (R = 2, C = 1: the frontier needs a level reached by two runs) whose side effect is exactly
    c·√KL, with KL growing geometrically from ``first_kl``."""
    kl = np.concatenate([[0.0], first_kl * 2.0 ** np.arange(epochs)])
    kl = np.stack([kl, kl])[:, None]
    return kl, c * np.sqrt(kl)


def test_levels_below_the_first_epoch_are_not_read():
    levels = (0.01, 0.1)
    kl_a, y_a = _sqrt_law_runs(0.05)
    kl_b, y_b = _sqrt_law_runs(0.02)
    new_a, new_b = me.frontier_after_first_epoch(kl_a, y_a, levels), me.frontier_after_first_epoch(kl_b, y_b, levels)
    assert np.isnan(new_a[0, 0]) and np.isnan(new_b[0, 0])  # both first epochs are past KL 0.01
    # at 0.1 both are interpolated between measured epochs (log-linear in KL): within 6% of the true √0.1
    assert new_a[0, 1] == pytest.approx(np.sqrt(0.1), rel=0.06) and new_b[0, 1] == pytest.approx(np.sqrt(0.1), rel=0.06)
    # twin: the withdrawn reading (from the start) makes two identical √KL laws differ at 0.01 — the one whose first
    # epoch went further looks better constrained (0.0447 against 0.0707)
    old_a, old_b = frontier_at_progress(kl_a, y_a, levels), frontier_at_progress(kl_b, y_b, levels)
    assert old_a[0, 0] == pytest.approx(np.sqrt(0.05) * 0.2) and old_b[0, 0] == pytest.approx(np.sqrt(0.02) * 0.5)
    assert old_a[0, 0] < 0.7 * old_b[0, 0]


def test_a_smaller_learning_rate_supplies_the_small_levels():
    kl_fast, y_fast = _sqrt_law_runs(0.05)
    kl_slow, y_slow = _sqrt_law_runs(0.004)
    kl, y = np.concatenate([kl_fast, kl_slow], 1), np.concatenate([y_fast, y_slow], 1)  # [R=2, C=2, T]
    out = me.frontier_after_first_epoch(kl, y, (0.01,))
    assert out[0, 0] == pytest.approx(0.1, rel=0.06)


def test_frontier_after_first_epoch_rejects_bad_shapes():
    with pytest.raises(ValueError, match="progress, value"):
        me.frontier_after_first_epoch(np.zeros((2, 3)), np.zeros((2, 3)), (0.1,))
    with pytest.raises(ValueError, match="epochs ≥ 1"):
        me.frontier_after_first_epoch(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), (0.1,))


def test_minibatch_orders_come_from_a_stream_disjoint_from_the_replicates(monkeypatch):
    from pgtheory._seeds import second_stream_seed

    seen = []
    real = torch.randperm

    def spy(n, *a, generator=None, **k):
        seen.append(generator.initial_seed())
        return real(n, *a, generator=generator, **k)

    monkeypatch.setattr(me.torch, "randperm", spy)
    monkeypatch.setattr(me, "EPOCHS", 1)
    seed = 21 * 1000 + 3
    me.run_multi_epoch(me.llm_task(0), "ppo_clip", seed, eps=0.2)
    assert seen and set(seen) == {second_stream_seed(seed)}


def test_second_stream_differs_in_the_bits_torch_keeps():
    from pgtheory._seeds import second_stream_seed

    draw = lambda s: torch.rand(8, generator=torch.Generator().manual_seed(s), dtype=torch.float64)  # noqa: E731
    seed = 21 * 1000 + 3
    assert not torch.equal(draw(second_stream_seed(seed)), draw(seed))
    assert not torch.equal(draw(second_stream_seed(seed)), draw(seed + 1))
    # twin: the withdrawn offset 2**32 is the same stream (torch's mt19937 keeps the seed's low 32 bits)
    assert torch.equal(draw(seed + 2**32), draw(seed))
    with pytest.raises(ValueError, match="seed: a first-stream seed must be below 2"):
        second_stream_seed(2**31)


def test_median_over_runs_leaves_unreached_levels_empty_without_warnings():
    import warnings
    front = np.array([[0.1, np.nan, 1.0], [0.3, np.nan, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = me.median_over_runs(front)
    assert out[0] == pytest.approx(0.2) and np.isnan(out[1]) and out[2] == 1.0


def test_task_family_gives_each_replicate_its_own_task():
    fam = me.task_family(21, 3)
    rewards = [t.rewards.clone() for t in fam]
    assert not torch.equal(rewards[0], rewards[1]) and not torch.equal(rewards[1], rewards[2])
    assert torch.equal(me.task_family(21, 2)[1].rewards, rewards[1])  # deterministic
    assert torch.equal(fam[0].rewards, me.llm_task(21000).rewards)
    with pytest.raises(ValueError, match="task: a family of 3 tasks"):
        me.lr_sweep(fam, "ppo_clip", 4, 0, (0.05,), eps=0.2)


def test_replicates_lower_counts_rows_lower_at_every_level_both_reached():
    a = np.array([[0.1, 0.2, np.nan], [0.1, 0.5, 0.3], [np.nan, np.nan, np.nan]])
    b = np.array([[0.2, 0.3, 0.1], [0.2, 0.4, 0.4], [0.1, 0.1, 0.1]])
    assert me.replicates_lower(a, b) == [True, False]  # row 2 reached no level: unchecked, left out
    with pytest.raises(ValueError, match="a_front, b_front"):
        me.replicates_lower(a, b[:2])


def test_family_claims_count_their_instances_at_quick_scale(tmp_path):
    """The instance wiring of the claims moved to families on 2026-12-02 (dev seed 3, quick scale): L197, L103 and L129
    count replicates (at most their seeds), L27 its instances, L113-clip-cov its replicates, L15 and L65 their families."""
    from pgtheory.claims.runner import check

    ids = {"L15-dppo-surrogate-variance": 4, "L65-group-reinforce-off-policy": 4, "L27-d3s-variance-selection": 3,
           "L113-clip-cov-kl-cov": 6, "L129-gspo-sequence-ratio": 6}
    recs = check(list(ids), scale="quick", seed=3, results=tmp_path)
    for r in recs:
        assert 1 <= r["instances"]["count"] <= ids[r["id"]], (r["id"], r["instances"])
