r"""The exact law of the return of a tabular MDP under a policy (issue 14, item 1).

Three returns, for a :class:`~pgtheory.problems.TabularMDP` with deterministic rewards r(s, a) (reward noise is not
modelled: ``reward_std`` must be 0) and a policy π [S, A]:

* :func:`truncated_return_law` — :math:`G_H = \sum_{t<H}\gamma^t r(s_t,a_t)` (the sampler's ``termination="truncate"``),
  exactly, by dynamic programming over (state, return atom):

  .. math:: \mathcal L_0(s) = \delta_0,\qquad \mathcal L_n(s) = \sum_a\pi(a|s)\sum_{s'}P(s'|s,a)\;
            \mathrm{law}\big(r(s,a) + \gamma G\big),\ G\sim\mathcal L_{n-1}(s'),

  merging atoms only on exact (floating-point) ties, with a guard ``max_atoms`` on the support size (it can grow like
  (S·A)^H). Its mean is :math:`V_H = \sum_{t<H}\gamma^t P_\pi^t r_\pi`.
* :func:`geometric_return_law` — pgtheory's geometric-termination return (``termination="geometric"``): after every
  step the episode continues with probability γ and the *undiscounted* rewards are summed,
  :math:`G^{\rm geo}=\sum_{t<T}r_t` with :math:`\Pr(T>t)=\gamma^t`. Recursion (stop after the step w.p. 1−γ):

  .. math:: \mathcal L^{\rm geo}(s)=\sum_a\pi(a|s)\Big[(1-\gamma)\,\delta_{r(s,a)} + \gamma\sum_{s'}P(s'|s,a)\,
            \mathrm{law}\big(r(s,a)+G\big)\Big],\ G\sim\mathcal L^{\rm geo}(s').

  Its mean is V^π (:math:`\mathbb E\sum_{t<T}r_t=\sum_t\gamma^t\mathbb E r_t`), the same as the discounted return's,
  but the *laws differ* (e.g. one state, reward 1: :math:`G^{\rm geo}=T` is geometric, while the discounted return is
  the constant 1/(1−γ)). T is unbounded, so we compute the exact law of the capped return
  :math:`\sum_{t<\min(T,N)}r_t`, which differs from G^geo only on {T > N} (probability γ^N): its W1 distance to the
  law of G^geo is at most :math:`\mathbb E\sum_{t\ge N}1\{t<T\}|r_t|\le\gamma^N r_{\max}/(1-\gamma)` with
  :math:`r_{\max}=\max|r|`, and N is chosen so that this bound is below ``tol``. With rewards on a lattice
  (integers, say) the support stays small (≤ N·(range)+1 atoms); generic real rewards make it explode (guarded).
* :func:`discounted_return_law` — the infinite-horizon discounted return :math:`G=\sum_{t\ge0}\gamma^tr_t` by a
  fine-grid categorical DP: the fixed point η̂ of Π_C T^π on m equally spaced atoms over
  :math:`[v_{\min},v_{\max}]=[r_{\min}/(1-\gamma),r_{\max}/(1-\gamma)]` (:mod:`pgtheory.exact.distributional`).

**Error bound of the categorical DP (derived here).** Write Δ = (v_max − v_min)/(m − 1) and
:math:`\bar W_1(\eta,\nu)=\max_sW_1(\eta(s),\nu(s))`. For laws supported in [v_min, v_max]:

1. *Projection error.* Π_C splits a point mass at x ∈ [z_i, z_i+Δ] into masses (z_i+Δ−x)/Δ at z_i and (x−z_i)/Δ at
   z_i+Δ; coupling them to x costs :math:`2(x-z_i)(z_i+\Delta-x)/\Delta\le\Delta/2`. W1 is convex under mixtures,
   so :math:`W_1(\Pi_C\nu,\nu)\le\Delta/2`.
2. *Non-expansion.* :math:`F_{\Pi_C\nu}(z_i)=\frac1\Delta\int_{z_i}^{z_{i+1}}F_\nu(x)\,dx`, hence
   :math:`W_1(\Pi_C\nu,\Pi_C\mu)=\sum_i\big|\int_{z_i}^{z_{i+1}}(F_\nu-F_\mu)\big|\le W_1(\nu,\mu)`.
3. *Contraction.* :math:`\bar W_1(T^\pi\eta,T^\pi\nu)\le\gamma\bar W_1(\eta,\nu)` (Bellemare et al. 2017, Lemma 3),
   and T^π maps laws on [v_min, v_max] into it (r + γz stays inside).

With η the true law (Tη = η) and η_{k+1} = Π_C T η_k:
:math:`\bar W_1(\eta_{k+1},\eta)\le\bar W_1(\Pi_CT\eta_k,T\eta_k)+\bar W_1(T\eta_k,T\eta)\le\Delta/2+\gamma\bar W_1(\eta_k,\eta)`,
and :math:`\bar W_1(\eta_k,\eta)\le\bar W_1(\eta_k,\eta_{k+1})+\bar W_1(\eta_{k+1},\eta)` gives
:math:`\bar W_1(\eta_k,\eta)\le(d_k+\Delta/2)/(1-\gamma)` with :math:`d_k=\bar W_1(\eta_k,\eta_{k+1})`, so

.. math:: \bar W_1(\eta_{k+1},\eta)\le\frac{\Delta/2+\gamma\,d_k}{1-\gamma}\ \xrightarrow{d_k\to0}\ \frac{\Delta}{2(1-\gamma)}
          = \frac{r_{\max}-r_{\min}}{2(m-1)(1-\gamma)^2},

the geometric series of per-step projection errors Δ/2 shrunk by γ per step. This is ``ReturnLaw.error_bound``
(tested against the exact truncated law, whose W1 distance to the true law is at most γ^H max|r|/(1−γ)).
Π_C preserves means on [v_min, v_max], so the categorical fixed point's mean is exactly V^π up to the iteration
tolerance.

Sources: Bellemare, Dabney & Munos (2017), "A distributional perspective on RL"; Rowland et al. (2018), "An analysis
of categorical distributional RL"; Dabney et al. (2018), "Distributional RL with quantile regression".
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._checks import DTYPE, check_positive_int, check_real
from ..problems.mdp import TabularMDP
from .distributional import check_single_policy, categorical_fixed_point, uniform_support

__all__ = ["ReturnLaw", "DEFAULT_MAX_ATOMS", "truncated_return_law", "geometric_return_law", "discounted_return_law",
           "truncated_values"]

#: Default guard on the number of distinct atoms of an exact law.
DEFAULT_MAX_ATOMS = 200_000


class ReturnLaw(NamedTuple):
    """A return law per start state on a common support (zero-probability atoms allowed)."""

    atoms: torch.Tensor  #: [K] increasing support shared by all states
    probs: torch.Tensor  #: [S, K]; row s is the law of the return from s_0 = s
    initial: torch.Tensor  #: [K] the law from s_0 ∼ ρ, ρᵀ probs
    error_bound: float  #: bound on sup_s W1 to the target law (0 for the exact truncated law)
    kind: str  #: 'truncated' | 'geometric' | 'discounted'

    def means(self) -> torch.Tensor:
        """E[G | s_0 = s], ``[S]``."""
        return self.probs @ self.atoms

    def mean(self) -> torch.Tensor:
        """E[G] under s_0 ∼ ρ (scalar)."""
        return self.initial @ self.atoms


def _setup(mdp, pi):
    pi = check_single_policy(mdp, pi)
    if bool((mdp.reward_std > 0).any()):
        raise ValueError("mdp: reward_std must be 0; exact return laws are for deterministic rewards r(s, a)")
    return pi


def _backup(mdp: TabularMDP, pi: torch.Tensor, atoms: torch.Tensor, probs: torch.Tensor, scale: float, cont: float,
            max_atoms: int, what: str):
    """One DP step: atoms r(s,a) + scale·z_k w.p. cont·π P p, plus (cont < 1) a stop atom r(s,a) w.p. (1−cont)π."""
    S, A, K = mdp.n_states, mdp.n_actions, atoms.shape[0]
    nxt = torch.einsum("sat,tk->sak", mdp.transitions, probs)  # [S, A, K]
    vals = mdp.rewards[:, :, None] + scale * atoms[None, None, :]
    w = cont * pi[:, :, None] * nxt
    vals, w = vals.reshape(S, A * K), w.reshape(S, A * K)
    if cont < 1:
        vals = torch.cat([vals, mdp.rewards], 1)
        w = torch.cat([w, (1 - cont) * pi], 1)
    keep = w > 0
    rows = torch.arange(S, device=w.device)[:, None].expand_as(w)[keep]
    uniq, inv = torch.unique(vals[keep], return_inverse=True)
    if uniq.numel() > max_atoms:
        raise ValueError(f"{what}: the exact law needs {uniq.numel()} atoms, over max_atoms = {max_atoms}; lower it, "
                         "use lattice rewards, or use discounted_return_law (categorical grid)")
    out = torch.zeros(S, uniq.numel(), dtype=DTYPE, device=w.device)
    out.index_put_((rows, inv), w[keep], accumulate=True)
    return uniq, out


def truncated_values(mdp: TabularMDP, pi, horizon: int) -> torch.Tensor:
    r""":math:`V_H = \sum_{t<H}\gamma^tP_\pi^t r_\pi` by H backups (the mean of :func:`truncated_return_law`), ``[S]``."""
    pi = check_single_policy(mdp, pi)
    H = check_positive_int(horizon, "horizon", minimum=0)
    r_pi = (pi * mdp.rewards).sum(-1)
    P_pi = torch.einsum("sa,sat->st", pi, mdp.transitions)
    v = torch.zeros_like(r_pi)
    for _ in range(H):
        v = r_pi + mdp.discount * P_pi @ v
    return v


def _law(mdp, atoms, probs, bound, kind) -> ReturnLaw:
    return ReturnLaw(atoms, probs, mdp.initial @ probs, float(bound), kind)


def truncated_return_law(mdp: TabularMDP, pi, horizon: int, *, max_atoms: int = DEFAULT_MAX_ATOMS) -> ReturnLaw:
    r"""Exact law of :math:`G_H=\sum_{t<H}\gamma^t r(s_t,a_t)` from every start state and from ρ (see module doc).

    ``pi [S, A]``; ``horizon`` H ≥ 0 (H = 0: δ_0). Raises ``ValueError`` naming ``horizon`` when the support
    would exceed ``max_atoms``. ``error_bound`` = 0 (exact up to floating-point rounding of the atoms).
    """
    pi = _setup(mdp, pi)
    H = check_positive_int(horizon, "horizon", minimum=0)
    max_atoms = check_positive_int(max_atoms, "max_atoms")
    atoms = torch.zeros(1, dtype=DTYPE, device=mdp.device)
    probs = torch.ones(mdp.n_states, 1, dtype=DTYPE, device=mdp.device)
    for _ in range(H):
        atoms, probs = _backup(mdp, pi, atoms, probs, mdp.discount, 1.0, max_atoms, "horizon")
    return _law(mdp, atoms, probs, 0.0, "truncated")


def geometric_return_law(mdp: TabularMDP, pi, *, tol: float = 1e-12, cap: int | None = None,
                         max_atoms: int = DEFAULT_MAX_ATOMS) -> ReturnLaw:
    r"""Exact law of the capped geometric-termination return :math:`\sum_{t<\min(T,N)}r_t` (module doc).

    N = ``cap`` if given, else the least N with γ^N max|r|/(1−γ) ≤ ``tol``; ``error_bound`` = γ^N max|r|/(1−γ)
    bounds sup_s W1 to the law of the uncapped :math:`\sum_{t<T}r_t` and the gap of the means to V^π.
    """
    pi = _setup(mdp, pi)
    max_atoms = check_positive_int(max_atoms, "max_atoms")
    g = mdp.discount
    rmax = float(mdp.rewards.abs().max())
    if cap is None:
        tol = check_real(tol, "tol", low=0.0, low_open=True)
        if rmax == 0 or g == 0:
            N = 1
        else:
            N = max(1, math.ceil(math.log(tol * (1 - g) / rmax) / math.log(g)))
    else:
        N = check_positive_int(cap, "cap")
    atoms = torch.zeros(1, dtype=DTYPE, device=mdp.device)
    probs = torch.ones(mdp.n_states, 1, dtype=DTYPE, device=mdp.device)
    for _ in range(N):
        atoms, probs = _backup(mdp, pi, atoms, probs, 1.0, g, max_atoms, "cap")
    return _law(mdp, atoms, probs, g ** N * rmax / (1 - g), "geometric")


def discounted_return_law(mdp: TabularMDP, pi, m: int = 1001, *, tol: float = 1e-13, max_iter: int = 100_000) -> ReturnLaw:
    r"""Law of :math:`\sum_{t\ge0}\gamma^tr_t` as the fixed point of Π_C T^π on ``m`` atoms over
    [r_min/(1−γ), r_max/(1−γ)] (module doc), with ``error_bound`` = (Δ/2 + γ d)/(1−γ) ≥ sup_s W1 to the true law,
    Δ the grid step and d the sup-W1 size of the last iteration step (≤ ``tol``).

    When all rewards are equal the interval is widened to [v, v + 1] (the law is δ_v and lies on the grid).
    """
    pi = _setup(mdp, pi)
    m = check_positive_int(m, "m", minimum=2)
    g = mdp.discount
    lo, hi = float(mdp.rewards.min()) / (1 - g), float(mdp.rewards.max()) / (1 - g)
    if not hi > lo:
        hi = lo + 1.0
    z = uniform_support(lo, hi, m).to(mdp.device)
    fp = categorical_fixed_point(mdp, pi, z, tol=tol, max_iter=max_iter)
    delta = (hi - lo) / (m - 1)
    bound = (delta / 2 + g * fp.last_change) / (1 - g)
    return _law(mdp, z, fp.probs, bound, "discounted")
