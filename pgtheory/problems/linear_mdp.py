r"""Linear MDPs: finite MDPs whose transitions and rewards are linear in known state-action features.

A *linear MDP* (Jin, Yang, Wang & Jordan 2020, "Provably efficient reinforcement learning with linear function
approximation", Assumption A; also Yang & Wang 2019) has a feature map :math:`\phi(s,a)\in\mathbb R^d`, d unknown
signed measures :math:`\mu = (\mu_1,\dots,\mu_d)` over :math:`\mathcal S` and a vector :math:`\theta_r\in\mathbb R^d` with

.. math::
    P(s'\mid s,a) = \langle \phi(s,a), \mu(s')\rangle = \sum_{i=1}^d \phi_i(s,a)\,\mu_i(s'),\qquad
    r(s,a) = \langle \phi(s,a), \theta_r\rangle .

Consequently :math:`Q^\pi(s,a) = \langle\phi(s,a), w^\pi\rangle` with :math:`w^\pi = \theta_r + \gamma\sum_{s'}\mu(s')V^\pi(s')`
for *every* policy π (Jin et al. 2020, Proposition 2.3), which is what makes the class interesting. Here the state
space is finite, so a linear MDP is a :class:`~pgtheory.problems.mdp.TabularMDP` together with a factorisation
:math:`P = \Phi\mu` of its transition matrix; :meth:`LinearMDP.tabular` forgets the factorisation, so every exact
quantity of :mod:`pgtheory.exact` applies to it.

Generators: :func:`random_linear_mdp` (simplex features and distributional μ: valid by construction),
:func:`one_hot_linear_mdp` (any tabular MDP with d = S·A one-hot features) and :func:`misspecified_linear_mdp`
(the ε-misspecified, or "ε-approximately linear", setting of Jin et al. 2020, Assumption B).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .._checks import (DTYPE, as_tensor, check_discount, check_finite, check_positive_int, check_probabilities,
                       check_real)
from .mdp import TabularMDP

__all__ = ["LinearMDP", "LINEAR_MDP_TOL", "random_linear_mdp", "one_hot_linear_mdp", "misspecified_linear_mdp", "tabular_form",
           "two_basin_linear_mdp"]

#: tolerance on the factorised transitions P = φμ: every entry must be ≥ −LINEAR_MDP_TOL and every row
#: P(·|s, a) must sum to 1 within LINEAR_MDP_TOL (float64 round-off of a product of d terms, with a wide margin).
LINEAR_MDP_TOL = 1e-10


def _rng(seed: int | np.random.Generator | None, name: str = "seed") -> np.random.Generator:
    """A numpy generator from ``seed``: a Generator or a non-negative integer (None: fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        seed = check_positive_int(seed, name, minimum=0)
    return np.random.default_rng(seed)


@dataclass(frozen=True, eq=False)
class LinearMDP:
    r"""A finite discounted linear MDP :math:`(\phi, \mu, \theta_r, \rho, \gamma)` (Jin et al. 2020, Assumption A).

    Attributes
    ----------
    features : Tensor [S, A, d]
        :math:`\phi(s, a)`, the state-action features.
    mu : Tensor [d, S]
        ``mu[i, s'] = μ_i(s')``: the d (signed) measures over next states, so that
        :math:`P(s'|s,a) = \sum_i \phi_i(s,a)\mu_i(s')`, i.e. ``transitions = features @ mu``.
    reward_weights : Tensor [d]
        :math:`\theta_r`, with :math:`r(s,a) = \phi(s,a)^\top\theta_r` (any real values).
    initial : Tensor [S]
        Initial-state distribution :math:`\rho`.
    discount : float
        :math:`\gamma \in [0, 1)`.
    name : str
        A label used in figures and ledgers.

    Validation at construction: shapes, finiteness, γ ∈ [0, 1), ρ a distribution, and the factorised
    :math:`P = \phi\mu` a transition kernel — every entry ≥ −:data:`LINEAR_MDP_TOL` and every row summing to 1
    within :data:`LINEAR_MDP_TOL`; the error names the first failing (s, a). Neither φ nor μ needs to be
    non-negative on its own (μ are signed measures in Jin et al.), only their product. The stored
    :attr:`transitions` are φμ with round-off negatives (≥ −1e-10) clipped to 0.

    Everything is float64 on the device of ``features``; construct on CPU and call :meth:`to` to move. The 1e-10
    tolerance is float64's: features or μ normalised in float32 must be renormalised in float64 first.
    """

    features: torch.Tensor
    mu: torch.Tensor
    reward_weights: torch.Tensor
    initial: torch.Tensor
    discount: float
    name: str = "linear_mdp"
    _transitions: torch.Tensor | None = field(default=None, init=False, repr=False, compare=False)
    _rewards: torch.Tensor | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        phi = check_finite(as_tensor(self.features, "features"), "features")
        dev = phi.device
        mu = check_finite(as_tensor(self.mu, "mu", device=dev), "mu")
        theta = check_finite(as_tensor(self.reward_weights, "reward_weights", device=dev), "reward_weights")
        rho = check_finite(as_tensor(self.initial, "initial", device=dev), "initial")
        gamma = check_discount(self.discount, "discount")
        if phi.ndim != 3 or 0 in phi.shape:
            raise ValueError(f"features: expected a non-empty shape [S, A, d], got {tuple(phi.shape)}")
        S, A, d = (int(n) for n in phi.shape)
        if tuple(mu.shape) != (d, S):
            raise ValueError(f"mu: expected shape [d, S] = {(d, S)} (d from features [S, A, d] = {(S, A, d)}), "
                             f"got {tuple(mu.shape)}")
        if tuple(theta.shape) != (d,):
            raise ValueError(f"reward_weights: expected shape [d] = {(d,)}, got {tuple(theta.shape)}")
        if tuple(rho.shape) != (S,):
            raise ValueError(f"initial: expected shape [S] = {(S,)}, got {tuple(rho.shape)}")
        rho = check_probabilities(rho, "initial")
        P = phi @ mu  # [S, A, S]
        low = P.amin(-1)
        if bool((low < -LINEAR_MDP_TOL).any()):
            s, a = (int(i) for i in (low < -LINEAR_MDP_TOL).nonzero()[0])
            sp = int(P[s, a].argmin())
            raise ValueError(f"mu, features: the transitions P = features @ mu must be non-negative, but "
                             f"P(s'={sp} | s={s}, a={a}) = {float(P[s, a, sp]):.6g} (a linear MDP needs φ(s,a)ᵀμ(s') ≥ 0)")
        err = (P.sum(-1) - 1.0).abs()
        if bool((err > LINEAR_MDP_TOL).any()):
            s, a = (int(i) for i in (err > LINEAR_MDP_TOL).nonzero()[0])
            raise ValueError(f"mu, features: each row P(·|s, a) = φ(s,a)ᵀμ must sum to 1 within {LINEAR_MDP_TOL:g}, "
                             f"but the row (s={s}, a={a}) sums to {float(P[s, a].sum()):.12g}")
        object.__setattr__(self, "features", phi)
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "reward_weights", theta)
        object.__setattr__(self, "initial", rho)
        object.__setattr__(self, "discount", gamma)
        object.__setattr__(self, "_transitions", P.clamp_min(0.0))
        object.__setattr__(self, "_rewards", phi @ theta)

    @property
    def n_states(self) -> int:
        return int(self.features.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.features.shape[1])

    @property
    def feature_dim(self) -> int:
        """d, the feature dimension."""
        return int(self.features.shape[2])

    @property
    def device(self) -> torch.device:
        return self.features.device

    @property
    def transitions(self) -> torch.Tensor:
        r"""P [S, A, S] with :math:`P(s'|s,a) = \phi(s,a)^\top\mu(s')` (round-off negatives clipped to 0)."""
        return self._transitions

    @property
    def rewards(self) -> torch.Tensor:
        r"""r [S, A] with :math:`r(s,a) = \phi(s,a)^\top\theta_r`."""
        return self._rewards

    def tabular(self) -> TabularMDP:
        """The same MDP as a :class:`TabularMDP` (same P, r, ρ, γ; deterministic rewards), so that every exact
        quantity of :mod:`pgtheory.exact` (V, Q, d, J, ∇J, solvers) applies; the factorisation is forgotten."""
        return TabularMDP(self.transitions, self.rewards, self.discount, self.initial, name=self.name)

    def to(self, device: torch.device | str) -> "LinearMDP":
        """A copy of this linear MDP with every tensor on ``device``."""
        return replace(self, features=self.features.to(device), mu=self.mu.to(device),
                       reward_weights=self.reward_weights.to(device), initial=self.initial.to(device))

    def __repr__(self) -> str:
        return (f"LinearMDP(name={self.name!r}, S={self.n_states}, A={self.n_actions}, d={self.feature_dim}, "
                f"discount={self.discount}, device={self.device})")


def random_linear_mdp(
    n_states: int,
    n_actions: int,
    feature_dim: int,
    *,
    seed: int | np.random.Generator,
    discount: float = 0.9,
    concentration: float = 1.0,
) -> LinearMDP:
    r"""A random linear MDP that is valid by construction (a "simplex-feature" or latent-variable linear MDP).

    .. math::
        \phi(s,a) \sim \mathrm{Dirichlet}(c\,\mathbf 1_d)\ \text{on } \Delta_d,\qquad
        \mu_i \sim \mathrm{Dirichlet}(\mathbf 1_S)\ \text{on } \Delta_S,\qquad
        \theta_r \sim U[0, 1]^d,\qquad \rho = \text{uniform},

    i.i.d. over (s, a) and i. Each row :math:`P(\cdot|s,a) = \sum_i\phi_i(s,a)\mu_i` is then a convex combination of
    the d distributions μ_i, and :math:`r(s,a) = \phi(s,a)^\top\theta_r` a convex combination of numbers in [0, 1]
    (this is the "latent-state" construction: draw a latent i ~ φ(s,a), then s' ~ μ_i; Jin et al. 2020, Example 2.2).
    The concentration c > 0 controls the features: c → 0 gives nearly one-hot φ (hard aggregation of the S·A pairs
    into d clusters), c → ∞ gives φ ≈ uniform (every row of P ≈ the average μ).

    Shapes: features [S, A, d], mu [d, S], reward_weights [d], initial [S]. ``seed``: a non-negative integer or a
    ``numpy.random.Generator``; the same seed gives the same MDP.
    """
    S = check_positive_int(n_states, "n_states")
    A = check_positive_int(n_actions, "n_actions")
    d = check_positive_int(feature_dim, "feature_dim")
    c = check_real(concentration, "concentration", low=0.0, low_open=True)
    gamma = check_discount(discount, "discount")
    rng = _rng(seed)
    phi = rng.dirichlet(np.full(d, c), size=(S, A)) if d > 1 else np.ones((S, A, 1))
    phi = phi / phi.sum(-1, keepdims=True)  # Dirichlet draws with tiny c can lose a few ulps of normalisation
    mu = rng.dirichlet(np.ones(S), size=d) if S > 1 else np.ones((d, 1))
    theta = rng.random(d)
    rho = np.full(S, 1.0 / S)
    return LinearMDP(torch.from_numpy(phi), torch.from_numpy(mu), torch.from_numpy(theta), torch.from_numpy(rho), gamma,
                     name=f"random_linear_mdp(S={S},A={A},d={d},c={c:g})")


def one_hot_linear_mdp(mdp: TabularMDP) -> LinearMDP:
    r"""A tabular MDP as a linear MDP with d = S·A one-hot features (every tabular MDP is a linear MDP).

    .. math:: \phi(s,a) = e_{sA + a}\in\mathbb R^{SA},\qquad \mu = P \text{ reshaped to } [SA, S],\qquad
              \theta_r = r \text{ reshaped to } [SA],

    so φμ = P and φθ_r = r exactly (Jin et al. 2020, Example 2.1). ρ and γ are copied; the reward noise
    ``reward_std`` of ``mdp`` is not part of a linear MDP and is dropped (exact quantities depend only on the mean).
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    S, A = mdp.n_states, mdp.n_actions
    phi = torch.eye(S * A, dtype=DTYPE, device=mdp.device).reshape(S, A, S * A)
    return LinearMDP(phi, mdp.transitions.reshape(S * A, S).clone(), mdp.rewards.reshape(S * A).clone(),
                     mdp.initial.clone(), mdp.discount, name=f"one_hot({mdp.name})")


def misspecified_linear_mdp(lin: LinearMDP, epsilon: float, *, seed: int | np.random.Generator) -> TabularMDP:
    r"""The ε-misspecified version of a linear MDP: a tabular MDP that the features only approximately represent.

    .. math:: \tilde P(\cdot|s,a) = (1-\varepsilon)\,\phi(s,a)^\top\mu + \varepsilon\,P_{\rm noise}(\cdot|s,a),
              \qquad P_{\rm noise}(\cdot|s,a) \sim \mathrm{Dirichlet}(\mathbf 1_S)\ \text{i.i.d.},\qquad
              \tilde r = \phi^\top\theta_r,

    with ρ and γ of ``lin``. Every row stays a distribution (a convex combination of two), and
    :math:`\|\tilde P(\cdot|s,a) - \phi(s,a)^\top\mu\|_{TV} = \varepsilon\,\|P_{\rm noise}(\cdot|s,a) - \phi(s,a)^\top\mu\|_{TV}
    \le \varepsilon`, the reward being exactly linear: this is the "ε-approximate linear MDP" / misspecified
    setting of Jin et al. (2020), Assumption B, with ζ = ε (only the transitions are misspecified). ε = 0 returns
    ``lin.tabular()``'s P; ε = 1 a Garnet-like MDP unrelated to μ.

    Returns a :class:`TabularMDP` [S, A, S] named ``misspecified(<name>, eps=ε)``.
    """
    if not isinstance(lin, LinearMDP):
        raise TypeError(f"lin: expected a LinearMDP, got {type(lin).__name__}")
    eps = check_real(epsilon, "epsilon", low=0.0, high=1.0)
    rng = _rng(seed)
    S, A = lin.n_states, lin.n_actions
    noise = torch.from_numpy(rng.dirichlet(np.ones(S), size=(S, A)) if S > 1 else np.ones((S, A, 1))).to(lin.device)
    P = (1.0 - eps) * lin.transitions + eps * noise
    P = P / P.sum(-1, keepdim=True)
    return TabularMDP(P, lin.rewards.clone(), lin.discount, lin.initial.clone(), name=f"misspecified({lin.name}, eps={eps:g})")


def tabular_form(mdp, name: str = "mdp") -> TabularMDP:
    """The tabular MDP behind ``mdp``: a :class:`TabularMDP` as is, a :class:`LinearMDP` through ``.tabular()``."""
    if isinstance(mdp, LinearMDP):
        return mdp.tabular()
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"{name}: expected a TabularMDP or LinearMDP, got {type(mdp).__name__}")
    return mdp


def two_basin_linear_mdp(n_states: int, n_actions: int, feature_dim: int, *, discount: float, seed: int,
                         stickiness: float = 0.5) -> LinearMDP:
    r"""(Built for L67 by a helper, moved here 2026-11-30.) A slowly mixing latent-variable linear MDP whose next-state variance of V* is heterogeneous and grows with H.

    Latent distributions: μ_0 uniform on the *high* half of the states, μ_1 uniform on the *low* half, μ_2.. ~
    Dirichlet(1_S). With η = κ(1 − γ): in the low half every action, and in the high half action 0, has
    φ = (1 − η)e_home + η u (u ~ Dirichlet(1_d); home = 0 in the high half, 1 in the low half): it stays in its basin
    for ~1/η = H/κ steps; the other actions of the high half have φ = u (a mixture over both basins). Rewards
    θ_r = (1, 0, U[0, ½]^{d−2}). V* then differs by Θ(H) between the basins, so Var_{s'}[V*(s')] is Θ(H²) at the
    mixing pairs and O(H) at the staying ones — the heterogeneity that variance weighting is for (the same
    stickiness-by-(1 − γ) device as the hard instances of Azar, Munos & Kappen 2013). Same seed ⇒ same u's for every γ.
    """
    rng = np.random.default_rng(seed)
    S, A, d = n_states, n_actions, feature_dim
    half = S // 2
    mu = np.zeros((d, S))
    mu[0, :half] = 1.0 / half
    mu[1, half:] = 1.0 / (S - half)
    mu[2:] = rng.dirichlet(np.ones(S), size=d - 2)
    eta = min(1.0, stickiness * (1.0 - discount))
    phi = np.zeros((S, A, d))
    for s in range(S):
        for a in range(A):
            u = rng.dirichlet(np.ones(d))
            if s >= half or a == 0:
                phi[s, a] = (1.0 - eta) * np.eye(d)[0 if s < half else 1] + eta * u
            else:
                phi[s, a] = u
    theta = np.concatenate([[1.0, 0.0], 0.5 * rng.random(d - 2)])
    return LinearMDP(torch.from_numpy(phi), torch.from_numpy(mu), torch.from_numpy(theta),
                     torch.full((S,), 1.0 / S, dtype=torch.float64), discount, name=f"two_basin(S={S},A={A},d={d})")
