r"""A discrete-time, discounted linear-quadratic regulator (LQR): a testbed with exact truth for continuous actions.

.. math::
    x_{t+1} = A x_t + B u_t + w_t,\qquad w_t \sim \mathcal N(0, W),\qquad x_0 \sim \mathcal N(0, \Sigma_0),

    c(x, u) = x^\top Q x + u^\top R u,\qquad r(x, u) = -c(x, u),\qquad
    J(\pi) = \mathbb E \sum_{t \ge 0} \gamma^t r(x_t, u_t),\quad \gamma \in [0, 1).

The objective is the *unnormalised* discounted return, as for :class:`~pgtheory.problems.TabularMDP`. The closed
forms (value matrix, discounted state covariance, J, ∇J, Fisher, the optimal gain) live in
:mod:`pgtheory.exact.lqr`, a sampler in :mod:`pgtheory.sampling.lqr`, the linear-Gaussian policy in
:mod:`pgtheory.policies.gaussian`. The model is the one of Fazel et al. (2018), "Global convergence of policy
gradient methods for the linear quadratic regulator", with a discount factor and process noise added (as in
Bertsekas, *Dynamic Programming and Optimal Control*, vol. I, §4.1, for the noise).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from .._checks import DTYPE, as_tensor, check_discount, check_finite, check_positive_int, check_real

__all__ = ["LQR", "random_lqr", "psd_factor", "check_symmetric_psd", "is_stabilisable"]

#: relative tolerance for symmetry (|X − Xᵀ| ≤ tol·(1 + max|X|)) and for the smallest eigenvalue of a PSD matrix
#: (λ_min ≥ −tol·(1 + max|X|)), i.e. float64 round-off of matrices assembled by a few products.
SYM_TOL = 1e-10


def check_symmetric_psd(x: torch.Tensor, name: str, *, definite: bool = False, tol: float = SYM_TOL) -> torch.Tensor:
    r"""Check that the square matrix ``x [k, k]`` is symmetric and positive semi-definite (``definite``: positive
    definite); return its symmetric part :math:`(X + X^\top)/2`.

    Symmetry and PSD are judged relative to the matrix's size: :math:`|X - X^\top| \le \mathrm{tol}\,(1+\max|X|)` and
    :math:`\lambda_{\min}(X) \ge -\mathrm{tol}\,(1+\max|X|)` (PSD), :math:`\lambda_{\min} > \mathrm{tol}\,(1+\max|X|)` (PD).
    Raises ``ValueError`` naming ``name`` and the offending entry or eigenvalue.
    """
    check_finite(x, name)
    if x.ndim != 2 or x.shape[0] != x.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {tuple(x.shape)}")
    scale = 1.0 + (float(x.abs().max()) if x.numel() else 0.0)
    asym = (x - x.T).abs()
    if x.numel() and float(asym.max()) > tol * scale:
        i, j = (int(v) for v in np.unravel_index(int(asym.argmax()), tuple(x.shape)))
        raise ValueError(f"{name}: must be symmetric, but {name}[{i}, {j}] = {float(x[i, j]):.6g} and "
                         f"{name}[{j}, {i}] = {float(x[j, i]):.6g}")
    xs = (x + x.T) / 2
    lam = float(torch.linalg.eigvalsh(xs.cpu()).min()) if x.numel() else 1.0
    if definite and not lam > tol * scale:
        raise ValueError(f"{name}: must be positive definite, but its smallest eigenvalue is {lam:.6g}")
    if lam < -tol * scale:
        raise ValueError(f"{name}: must be positive semi-definite, but its smallest eigenvalue is {lam:.6g}")
    return xs


def psd_factor(x: torch.Tensor) -> torch.Tensor:
    r"""A factor :math:`F` with :math:`F F^\top = X` of a symmetric PSD matrix ``x [..., k, k]`` (``[..., k, k]``).

    By the eigendecomposition :math:`X = U\,\mathrm{diag}(\lambda)\,U^\top`, :math:`F = U\,\mathrm{diag}(\sqrt{\lambda^+})`,
    which, unlike a Cholesky factor, exists for singular X (e.g. noise on some coordinates only). Samplers draw
    :math:`F z,\ z \sim \mathcal N(0, I)` to get :math:`\mathcal N(0, X)`.
    """
    lam, U = torch.linalg.eigh(x)
    return U * lam.clamp_min(0).sqrt().unsqueeze(-2)


def is_stabilisable(A: torch.Tensor, B: torch.Tensor, discount: float, *, tol: float = 1e-9) -> bool:
    r"""Whether :math:`(\sqrt\gamma A, \sqrt\gamma B)` is stabilisable: some K has :math:`\rho(\sqrt\gamma(A - BK)) < 1`.

    Popov–Belevitch–Hautus test: for every eigenvalue λ of :math:`\sqrt\gamma A` with :math:`|\lambda| \ge 1`,
    :math:`\mathrm{rank}\,[\lambda I - \sqrt\gamma A,\ \sqrt\gamma B] = n` (the rank judged by singular values above
    ``tol`` relative to the largest). With γ = 0 every pair is stabilisable.
    """
    g = float(discount) ** 0.5
    a = (g * A).to(torch.complex128).cpu()
    b = (g * B).to(torch.complex128).cpu()
    n = a.shape[0]
    eye = torch.eye(n, dtype=torch.complex128, device="cpu")
    for lam in torch.linalg.eigvals(a):
        if abs(complex(lam)) < 1.0:
            continue
        s = torch.linalg.svdvals(torch.cat([lam * eye - a, b], dim=1))
        if int((s > tol * max(1.0, float(s[0]))).sum()) < n:
            return False
    return True


@dataclass(frozen=True, eq=False)
class LQR:
    r"""A discounted linear-quadratic problem :math:`(A, B, Q, R, W, \Sigma_0, \gamma)` (see the module docstring).

    Attributes
    ----------
    A : Tensor [n, n]
        State transition matrix.
    B : Tensor [n, m]
        Control matrix.
    Q : Tensor [n, n]
        State cost, symmetric positive semi-definite.
    R : Tensor [m, m]
        Control cost, symmetric positive definite (so that the cost is strictly convex in u and the Riccati
        equation has a unique gain).
    discount : float
        :math:`\gamma \in [0, 1)`.
    noise_cov : Tensor [n, n], optional
        Process-noise covariance W, symmetric PSD (default 0: deterministic dynamics).
    initial_cov : Tensor [n, n], optional
        Covariance :math:`\Sigma_0` of the zero-mean Gaussian initial state, symmetric PSD (default :math:`I_n`).
    name : str
        A label used in figures and ledgers.

    Everything is converted once to float64 on A's device; construct on CPU and call :meth:`to` to move.
    Stabilisability is not required at construction (a problem may be studied for a given gain only), but
    :func:`~pgtheory.exact.lqr.lqr_optimal_gain` refuses a pair that is not stabilisable.
    """

    A: torch.Tensor
    B: torch.Tensor
    Q: torch.Tensor
    R: torch.Tensor
    discount: float
    noise_cov: Any = None
    initial_cov: Any = None
    name: str = "lqr"
    _validated: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        A = check_finite(as_tensor(self.A, "A"), "A")
        dev = A.device
        B = check_finite(as_tensor(self.B, "B", device=dev), "B")
        gamma = check_discount(self.discount, "discount")
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
            raise ValueError(f"A: expected a non-empty square matrix [n, n], got shape {tuple(A.shape)}")
        n = int(A.shape[0])
        if B.ndim != 2 or B.shape[0] != n or B.shape[1] == 0:
            raise ValueError(f"B: expected shape [n, m] with n = {n} and m >= 1, got {tuple(B.shape)}")
        m = int(B.shape[1])
        Q = as_tensor(self.Q, "Q", device=dev)
        if tuple(Q.shape) != (n, n):
            raise ValueError(f"Q: expected shape [n, n] = {(n, n)}, got {tuple(Q.shape)}")
        Q = check_symmetric_psd(Q, "Q")
        R = as_tensor(self.R, "R", device=dev)
        if tuple(R.shape) != (m, m):
            raise ValueError(f"R: expected shape [m, m] = {(m, m)}, got {tuple(R.shape)}")
        R = check_symmetric_psd(R, "R", definite=True)
        W = torch.zeros(n, n, dtype=DTYPE, device=dev) if self.noise_cov is None else as_tensor(self.noise_cov, "noise_cov", device=dev)
        if tuple(W.shape) != (n, n):
            raise ValueError(f"noise_cov: expected shape [n, n] = {(n, n)}, got {tuple(W.shape)}")
        W = check_symmetric_psd(W, "noise_cov")
        S0 = torch.eye(n, dtype=DTYPE, device=dev) if self.initial_cov is None else as_tensor(self.initial_cov, "initial_cov", device=dev)
        if tuple(S0.shape) != (n, n):
            raise ValueError(f"initial_cov: expected shape [n, n] = {(n, n)}, got {tuple(S0.shape)}")
        S0 = check_symmetric_psd(S0, "initial_cov")
        if not isinstance(self.name, str):
            raise TypeError(f"name: expected a str, got {type(self.name).__name__}")
        for k, v in (("A", A), ("B", B), ("Q", Q), ("R", R), ("noise_cov", W), ("initial_cov", S0), ("discount", gamma)):
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_validated", True)

    @property
    def state_dim(self) -> int:
        """n."""
        return int(self.A.shape[0])

    @property
    def action_dim(self) -> int:
        """m."""
        return int(self.B.shape[1])

    @property
    def device(self) -> torch.device:
        return self.A.device

    def to(self, device: torch.device | str) -> "LQR":
        """A copy of this problem with every tensor on ``device``."""
        return replace(self, A=self.A.to(device), B=self.B.to(device), Q=self.Q.to(device), R=self.R.to(device),
                       noise_cov=self.noise_cov.to(device), initial_cov=self.initial_cov.to(device))

    def with_discount(self, discount: float) -> "LQR":
        """A copy with another discount factor."""
        return replace(self, discount=discount)

    def cost(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        r"""c(x, u) = xᵀQx + uᵀRu for ``x [..., n]``, ``u [..., m]`` (broadcast): ``[...]``. The reward is −c."""
        return ((x @ self.Q) * x).sum(-1) + ((u @ self.R) * u).sum(-1)

    def __repr__(self) -> str:
        return (f"LQR(name={self.name!r}, n={self.state_dim}, m={self.action_dim}, discount={self.discount}, "
                f"device={self.device})")


def _random_spd(rng: np.random.Generator, k: int, floor: float) -> np.ndarray:
    """G Gᵀ/k + floor·I with G standard Gaussian: a random SPD matrix with eigenvalues ≥ floor."""
    G = rng.standard_normal((k, k))
    return G @ G.T / k + floor * np.eye(k)


def random_lqr(n: int, m: int, *, seed: int | np.random.Generator | None = 0, discount: float = 0.9,
               open_loop_radius: float = 1.1, noise_std: float = 0.3, initial_std: float = 1.0,
               random_costs: bool = True, max_tries: int = 100) -> LQR:
    r"""A random stabilisable LQR instance with n states and m controls.

    A is a standard Gaussian matrix rescaled to spectral radius ``open_loop_radius`` (> 1/√γ makes the
    uncontrolled system unstable under discounting, so K = 0 is *not* a valid gain); B has i.i.d. N(0, 1/n)
    entries; Q and R are :math:`GG^\top/k + cI` with c = 0.5 (``random_costs``) or the identities;
    :math:`W = \text{noise\_std}^2 I`, :math:`\Sigma_0 = \text{initial\_std}^2 I`. Draws are repeated (at most
    ``max_tries`` times) until :math:`(\sqrt\gamma A, \sqrt\gamma B)` passes :func:`is_stabilisable`; a random
    Gaussian B makes (A, B) controllable with probability 1, so the first draw almost always passes.
    """
    n = check_positive_int(n, "n")
    m = check_positive_int(m, "m")
    gamma = check_discount(discount, "discount")
    rad = check_real(open_loop_radius, "open_loop_radius", low=0.0)
    ws = check_real(noise_std, "noise_std", low=0.0)
    s0 = check_real(initial_std, "initial_std", low=0.0)
    tries = check_positive_int(max_tries, "max_tries")
    if isinstance(seed, np.random.Generator):
        rng = seed
    else:
        rng = np.random.default_rng(None if seed is None else check_positive_int(seed, "seed", minimum=0))
    for _ in range(tries):
        A = rng.standard_normal((n, n))
        r0 = float(np.abs(np.linalg.eigvals(A)).max())
        A = A * (rad / r0) if r0 > 0 else A
        B = rng.standard_normal((n, m)) / np.sqrt(n)
        Q = _random_spd(rng, n, 0.5) if random_costs else np.eye(n)
        R = _random_spd(rng, m, 0.5) if random_costs else np.eye(m)
        At, Bt = torch.from_numpy(A), torch.from_numpy(B)
        if is_stabilisable(At, Bt, gamma):
            return LQR(At, Bt, torch.from_numpy(Q), torch.from_numpy(R), gamma,
                       noise_cov=ws ** 2 * torch.eye(n, dtype=DTYPE, device="cpu"),
                       initial_cov=s0 ** 2 * torch.eye(n, dtype=DTYPE, device="cpu"),
                       name=f"random_lqr(n={n},m={m})")
    raise RuntimeError(f"max_tries: no stabilisable instance in {tries} draws (n={n}, m={m}, discount={gamma})")
