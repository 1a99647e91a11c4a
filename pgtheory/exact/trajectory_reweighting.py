r"""Return-weighted re-sampling of an offline dataset and the behaviour policy it induces, exactly (Hong et al. 2023).

Setting: a finite-horizon *layered* MDP — the state carries the time step, as in the usual finite-horizon
convention — given by ``transitions`` P [H, n, A, n] (P[t, s, a, s′] = Pr(s_{t+1} = s′ | s_t = s, a_t = a)),
``rewards`` r [H, n, A], ``initial`` ρ [n] and a time-indexed policy [H, n, A]. The return of a trajectory is
G(τ) = Σ_{t<H} r_t(s_t, a_t) (undiscounted, as the episode returns of the authors' code).

A dataset of trajectories of the behaviour policy μ is re-sampled with trajectory weights w(τ) = exp(G(τ)/α)
("RW"; the advantage variant "AW" uses exp((G(τ) − V(s_0))/α)); the weights follow the authors' code
(github.com/Improbable-AI/harness-offline-rl, ``weighted_datasets.py``: transition sampling probabilities
softmax(G_i/α), and softmax(A_i/α) with A_i = G_i − V̂(s_0^i) min-max normalised). The behaviour policy of the
re-weighted dataset, in the infinite-data limit, is

.. math:: \pi_w(a|s_t) = \frac{\sum_\tau p_\mu(\tau)\,w(\tau)\,1[(s_t, a_t) = (s, a)]}{\sum_\tau p_\mu(\tau)\,w(\tau)\,1[s_t = s]}.

Because exp(G/α) factorises over steps and μ is Markov, π_w is computed by a backward pass,
Z_H ≡ 1, Z_t(s) = Σ_a μ_t(a|s) e^{r_t(s,a)/α} Σ_{s′} P_t(s′|s,a) Z_{t+1}(s′), and
π_w(a|s_t) = μ_t(a|s) e^{r_t(s,a)/α} (P_t Z_{t+1})(s,a) / Z_t(s) (:func:`return_weighted_policy`); a factor that
depends on s_0 only (the AW baseline) cancels in every ratio. In a deterministic MDP, π_w is the KL-regularised
optimal policy argmax_π E_π[G] − α·KL(π‖μ), whose return is at least μ's; with stochastic transitions, the same
tilt also favours lucky outcomes the policy cannot choose ((P_t Z_{t+1}) is an optimistic, exponential-utility
value), and the guarantee is lost. :func:`pooled_return_weighted_policy` is the stationary variant of the authors' code, which samples transitions
without their time step: π_pool(a|s) = Σ_t q(s_t = s, a_t = a) / Σ_t q(s_t = s) under the tilted law q ∝ p_μ·w,
computed with forward and backward messages. :func:`enumerate_layered_trajectories` and
:func:`trajectory_weighted_policy` compute both ratios by brute force, for tests on small instances.
"""
from __future__ import annotations

import torch

from .._checks import as_tensor, check_finite, check_probabilities, check_real

__all__ = ["layered_return", "return_weighted_policy", "pooled_return_weighted_policy", "enumerate_layered_trajectories",
           "trajectory_weighted_policy", "positive_semivariance"]


def _check_layered(transitions, rewards, initial=None):
    P = check_probabilities(as_tensor(transitions, "transitions"), "transitions")
    if P.ndim != 4 or P.shape[1] != P.shape[3]:
        raise ValueError(f"transitions: expected shape [H, n, A, n], got {tuple(P.shape)}")
    H, n, A, _ = P.shape
    r = check_finite(as_tensor(rewards, "rewards", device=P.device), "rewards")
    if tuple(r.shape) != (H, n, A):
        raise ValueError(f"rewards: expected shape {(H, n, A)}, got {tuple(r.shape)}")
    rho = None
    if initial is not None:
        rho = check_probabilities(as_tensor(initial, "initial", device=P.device), "initial")
        if tuple(rho.shape) != (n,):
            raise ValueError(f"initial: expected shape {(n,)}, got {tuple(rho.shape)}")
    return P, r, rho


def _check_policy(policy, shape, name):
    pi = check_probabilities(as_tensor(policy, name), name)
    if tuple(pi.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {tuple(pi.shape)}")
    return pi


def layered_return(transitions, rewards, initial, policy) -> torch.Tensor:
    r"""J(π) = E_{s_0∼ρ, π}[Σ_{t<H} r_t(s_t, a_t)] by the forward recursion d_{t+1} = Σ_{s,a} d_t(s)π_t(a|s)P_t(·|s,a)."""
    P, r, rho = _check_layered(transitions, rewards, initial)
    pi = _check_policy(policy, r.shape, "policy")
    d, total = rho, torch.zeros((), dtype=r.dtype, device=r.device)
    for t in range(P.shape[0]):
        joint = d.unsqueeze(-1) * pi[t]
        total = total + (joint * r[t]).sum()
        d = torch.einsum("sa,sat->t", joint, P[t])
    return total


def return_weighted_policy(transitions, rewards, behaviour, temperature: float) -> torch.Tensor:
    r"""π_w [H, n, A], the behaviour policy of the dataset of μ re-weighted by exp(G/α) (backward pass, log space).

    ``temperature`` α > 0. Rows of states that μ never reaches are still the conditional of the tilted law given
    that state (they do not affect any return from ρ).
    """
    P, r, _ = _check_layered(transitions, rewards)
    mu = _check_policy(behaviour, r.shape, "behaviour")
    alpha = check_real(temperature, "temperature", low=0.0, low_open=True)
    H, n, A, _ = P.shape
    log_z = torch.zeros(n, dtype=r.dtype, device=r.device)
    log_mu = mu.log()  # −inf where μ = 0: those actions keep probability 0
    out = torch.empty_like(mu)
    for t in range(H - 1, -1, -1):
        shift = log_z.max()
        log_pz = (P[t] @ (log_z - shift).exp()).log() + shift  # [n, A]
        logits = log_mu[t] + r[t] / alpha + log_pz
        out[t] = torch.softmax(logits, dim=-1)
        log_z = torch.logsumexp(logits, dim=-1)
    return out


def pooled_return_weighted_policy(transitions, rewards, initial, behaviour, temperature: float) -> torch.Tensor:
    r"""π_pool [n, A]: the behaviour policy of the exp(G/α)-re-weighted dataset when transitions are pooled over time.

    π_pool(a|s) = Σ_t F_t(s)·μ_t(a|s)e^{r_t(s,a)/α}(P_t Z_{t+1})(s,a) / Σ_t F_t(s)Z_t(s), with the forward messages
    F_0 = ρ, F_{t+1}(s′) = Σ_{s,a} F_t(s)μ_t(a|s)e^{r_t(s,a)/α}P_t(s′|s,a) and the backward Z of
    :func:`return_weighted_policy` (all in log space). Rows of states never reached are μ's time average.
    """
    P, r, rho = _check_layered(transitions, rewards, initial)
    mu = _check_policy(behaviour, r.shape, "behaviour")
    alpha = check_real(temperature, "temperature", low=0.0, low_open=True)
    H, n, A, _ = P.shape
    log_mu = mu.log()
    log_z = [torch.zeros(n, dtype=r.dtype, device=r.device)]
    log_step = [None] * H  # log μ + r/α + log(P Z_{t+1}), [n, A]
    for t in range(H - 1, -1, -1):
        shift = log_z[0].max()
        log_step[t] = log_mu[t] + r[t] / alpha + (P[t] @ (log_z[0] - shift).exp()).log() + shift
        log_z.insert(0, torch.logsumexp(log_step[t], dim=-1))
    log_f = rho.log()
    log_num = []
    for t in range(H):
        log_num.append(log_f.unsqueeze(-1) + log_step[t])
        step = log_f.unsqueeze(-1) + log_mu[t] + r[t] / alpha  # [n, A]
        shift = step.max()
        log_f = (torch.einsum("sa,sat->t", (step - shift).exp(), P[t])).log() + shift
    log_num = torch.logsumexp(torch.stack(log_num), dim=0)  # [n, A]
    log_den = torch.logsumexp(log_num, dim=-1, keepdim=True)
    reached = torch.isfinite(log_den)
    return torch.where(reached, (log_num - torch.where(reached, log_den, torch.zeros_like(log_den))).exp(), mu.mean(0))


def enumerate_layered_trajectories(transitions, rewards, initial, behaviour) -> dict[str, torch.Tensor]:
    r"""Every positive-probability trajectory of μ: ``prob`` [N], ``ret`` [N] (G), ``states`` [N, H], ``actions`` [N, H].

    Brute force (N ≤ n·(A·n)^H before pruning): meant for tests and small instances.
    """
    P, r, rho = _check_layered(transitions, rewards, initial)
    mu = _check_policy(behaviour, r.shape, "behaviour")
    H, n, A, _ = P.shape
    s = torch.nonzero(rho > 0).squeeze(-1)
    prob, ret = rho[s], torch.zeros(len(s), dtype=r.dtype, device=r.device)
    states, actions = s.unsqueeze(-1), torch.empty(len(s), 0, dtype=torch.long, device=r.device)
    for t in range(H):
        cur = states[:, -1]
        # branch on (a, s′): weight μ_t(a|s)·P_t(s′|s,a)
        branch = mu[t][cur].unsqueeze(-1) * P[t][cur]  # [N, A, n]
        idx = torch.nonzero(branch > 0)
        k, a, s2 = idx[:, 0], idx[:, 1], idx[:, 2]
        prob = prob[k] * branch[k, a, s2]
        ret = ret[k] + r[t][cur[k], a]
        actions = torch.cat([actions[k], a.unsqueeze(-1)], dim=-1)
        states = torch.cat([states[k], s2.unsqueeze(-1)], dim=-1)
    return {"prob": prob, "ret": ret, "states": states[:, :H], "actions": actions}


def trajectory_weighted_policy(trajectories: dict[str, torch.Tensor], weights, n_states: int, n_actions: int,
                               fallback, *, pooled: bool = False) -> torch.Tensor:
    r"""π_w(a|s_t) = Σ_τ p(τ)w(τ)1[(s_t,a_t)=(s,a)] / Σ_τ p(τ)w(τ)1[s_t=s] by brute force; [H, n, A].

    ``weights`` [N] ≥ 0, one per enumerated trajectory; rows whose denominator is 0 are taken from ``fallback``
    [H, n, A] (its time average when ``pooled``). ``pooled``: count visits at every step together (the stationary
    policy of a dataset that forgets the time step), returning [n, A].
    """
    prob, states, actions = trajectories["prob"], trajectories["states"], trajectories["actions"]
    w = check_finite(as_tensor(weights, "weights", device=prob.device), "weights")
    if w.shape != prob.shape or bool((w < 0).any()):
        raise ValueError(f"weights: expected {tuple(prob.shape)} non-negative entries, got shape {tuple(w.shape)}")
    H = actions.shape[1]
    fb = _check_policy(fallback, (H, n_states, n_actions), "fallback")
    num = torch.zeros(H, n_states, n_actions, dtype=prob.dtype, device=prob.device)
    for t in range(H):
        num[t].index_put_((states[:, t], actions[:, t]), prob * w, accumulate=True)
    if pooled:
        num, fb = num.sum(0), fb.mean(0)
    den = num.sum(-1, keepdim=True)
    return torch.where(den > 0, num / den.clamp(min=torch.finfo(num.dtype).tiny), fb)


def positive_semivariance(prob, values) -> torch.Tensor:
    r"""E[(X − E X)_+²] of the discrete law Σ prob_i δ_{values_i} (the "positive-sided variance")."""
    p = check_probabilities(as_tensor(prob, "prob"), "prob")
    x = check_finite(as_tensor(values, "values", device=p.device), "values")
    if x.shape != p.shape:
        raise ValueError(f"values: expected shape {tuple(p.shape)}, got {tuple(x.shape)}")
    return (p * (x - (p * x).sum()).clamp(min=0) ** 2).sum()
