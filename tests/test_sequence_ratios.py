"""Sequence-level ratios: hand values, and exact (enumerated) unbiasedness of the sequence ratio with a twin."""
import math

import pytest
import torch

from pgtheory.estimators import length_normalized_ratio, sequence_ratio, token_ratios
from pgtheory.policies import TabularSequencePolicy
from pgtheory.problems import toy_sequence_task


def test_hand_values():
    lt = torch.tensor([[math.log(0.5), math.log(0.2), 0.0]], dtype=torch.float64)
    lb = torch.tensor([[math.log(0.25), math.log(0.4), 0.0]], dtype=torch.float64)
    m = torch.tensor([[True, True, False]])
    assert torch.allclose(token_ratios(lt, lb, m), torch.tensor([[2.0, 0.5, 1.0]], dtype=torch.float64))
    assert float(sequence_ratio(lt, lb, m)) == pytest.approx(1.0)
    assert float(length_normalized_ratio(lt, lb, m)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="mask: expected the shape"):
        token_ratios(lt, lb, m[:, :2])
    with pytest.raises(ValueError, match="mask: a response with no tokens"):
        length_normalized_ratio(lt, lb, torch.zeros_like(m))


def test_sequence_ratio_reweights_exactly_and_length_normalised_does_not():
    task = toy_sequence_task(3, 3, 1, seed=0)
    pol = TabularSequencePolicy(task)
    g = torch.Generator().manual_seed(0)
    th, mu = pol.random_params(generator=g), pol.random_params(generator=g)
    lt, lb = pol.sequence_token_log_probs(th)[0], pol.sequence_token_log_probs(mu)[0]
    p_mu, p_pi = lb.sum(-1).exp(), lt.sum(-1).exp()
    f = task.lengths.double()  # any function of the response
    exact = float((p_pi * f).sum())
    assert float((p_mu * sequence_ratio(lt, lb, task.mask) * f).sum()) == pytest.approx(exact, abs=1e-12)
    assert abs(float((p_mu * length_normalized_ratio(lt, lb, task.mask) * f).sum()) - exact) > 1e-3  # twin
