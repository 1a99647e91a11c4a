r"""Statistical assertions for your own estimators: ``assert_unbiased`` and friends.

Each assertion draws Monte Carlo samples from *your* estimator (a callable ``estimate(n, generator) -> Tensor[n, ...]``
of n i.i.d. draws, or a tensor of draws you made), runs the package's small-sample-correct test
(:func:`pgtheory.stats.bias_test`, Student t per coordinate with Bonferroni over coordinates) and decides as the claim
protocol does (:mod:`pgtheory.stats.equivalence`):

* **unbiased** means *bounded*: the simultaneous (1 − α) interval for the bias E[ĝ] − g lies inside a margin you
  declare (default: 1% of ‖g‖∞), and the test is shown to have power — the same test must reject a **twin**: your
  estimator with a bias of the margin's size planted on its noisiest coordinate (checked with power ≥ 0.99 before
  looking), plus any twins you pass (e.g. "drop the importance weight", "use the wrong baseline"), each of which must
  fail the same assertion.
* the sample size is **planned** from a pilot run, not guessed: n is the smallest size at which an unbiased estimator
  lands inside the margin and the planted twin is rejected with the stated power; if that n exceeds ``max_samples``
  the assertion fails as *underpowered* (it never passes for lack of data).
* every failure message says what was estimated, the bias interval at its worst coordinate, the twins' outcome and
  how to reproduce (the seed). Results are deterministic given ``seed``.

False-failure rate (an unbiased estimator failing ``assert_unbiased``): at most about 2α — α for the bias test
rejecting, α for the bias bound exceeding the margin, exact for Gaussian estimates when the pilot's standard
deviations are right (they are inflated by ``PLAN_SAFETY`` to cover the pilot's own error).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch
from scipy import stats as _st

from .._checks import as_tensor, check_finite
from ..stats import BiasTestResult, MomentAccumulator, RateFit, bias_test, detection_power, fit_rate

__all__ = ["StatisticalAssertionError", "UnbiasednessReport", "VarianceReport", "RateReport", "assert_unbiased",
           "assert_consistent", "assert_variance_at_most", "assert_rate", "planted_bias", "scaled_twin", "shifted_twin"]

PLAN_SAFETY = 1.25  #: the pilot's s.d. is multiplied by this when planning n (a pilot of 2000 has s.d. error ≈ 1.6%/√(kurtosis))
TWIN_POWER = 0.99  #: the planted twin must be detectable with this power at the planned n

Estimator = Callable[[int, torch.Generator], torch.Tensor]


class StatisticalAssertionError(AssertionError):
    """A statistical assertion failed; ``report`` holds the evidence (None when the failure is a planning one)."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


def planted_bias(fraction: float = 0.01) -> dict:
    """The built-in twin spec: "the same estimator with a bias of ``fraction`` · ‖truth‖∞ added" (on its noisiest
    coordinate, the hardest place to detect it). Pass as ``bias_twin=planted_bias(0.02)``."""
    if not (0 < fraction < float("inf")):
        raise ValueError(f"fraction: must be positive and finite, got {fraction!r}")
    return {"fraction": float(fraction)}


def scaled_twin(estimate: Estimator, factor: float) -> Estimator:
    """A twin: your estimator multiplied by ``factor`` (a multiplicative bias, like GRPO's group mean, which shrinks
    the gradient by 1 − 1/G). Pass as ``twins={"×0.99": scaled_twin(est, 0.99)}``."""
    if not callable(estimate):
        raise TypeError("estimate: expected a callable (n, generator) -> Tensor")
    if not (isinstance(factor, (int, float)) and math.isfinite(factor)) or factor == 1:
        raise ValueError(f"factor: must be a finite number other than 1, got {factor!r}")
    return lambda n, g: estimate(n, g) * factor


def shifted_twin(estimate: Estimator, offset) -> Estimator:
    """A twin: your estimator plus a fixed ``offset`` (a tensor of the estimate's shape, or a scalar ≠ 0)."""
    if not callable(estimate):
        raise TypeError("estimate: expected a callable (n, generator) -> Tensor")
    off = check_finite(as_tensor(offset, "offset"), "offset")
    if not bool((off != 0).any()):
        raise ValueError("offset: must be non-zero somewhere (a zero offset is not a twin)")
    return lambda n, g: estimate(n, g) + off


@dataclass(frozen=True)
class TwinOutcome:
    name: str
    caught: bool  #: the assertion would have failed on this twin
    detail: str


@dataclass(frozen=True)
class UnbiasednessReport:
    """What :func:`assert_unbiased` measured. ``result`` is the :class:`~pgtheory.stats.BiasTestResult`."""

    name: str
    result: BiasTestResult
    margin: float
    bias_bound: float
    alpha: float
    n: int
    seed: int
    twins: tuple[TwinOutcome, ...] = field(default=())
    planted_power: float | None = None

    @property
    def statistic(self) -> float:
        return self.result.statistic

    @property
    def pvalue(self) -> float:
        return self.result.pvalue

    def confidence_interval(self) -> tuple[np.ndarray, np.ndarray]:
        """The simultaneous (1 − α) interval for the bias, per coordinate."""
        return self.result.confidence_interval(1 - self.alpha)

    @property
    def passed(self) -> bool:
        return (self.result.pvalue >= self.alpha and self.bias_bound <= self.margin
                and all(t.caught for t in self.twins))

    def explain(self) -> str:
        lo, hi = self.confidence_interval()
        worst = int(np.argmax(np.maximum(np.abs(lo), np.abs(hi))))
        lines = [f"{self.name}: n = {self.n} draws (seed {self.seed}), declared margin {self.margin:.4g}",
                 f"  bias interval ({1 - self.alpha:.6g} simultaneous) at the worst coordinate [{worst}]: "
                 f"[{lo[worst]:.4g}, {hi[worst]:.4g}] (estimate {self.result.estimate[worst]:.6g}, truth "
                 f"{self.result.truth[worst]:.6g}); bound on |bias| {self.bias_bound:.4g} "
                 f"{'≤' if self.bias_bound <= self.margin else '>'} margin",
                 f"  bias test: max|t| = {self.result.statistic:.3g}, p = {self.result.pvalue:.3g} "
                 f"({'rejects' if self.result.pvalue < self.alpha else 'does not reject'} at α = {self.alpha:g})"]
        if self.planted_power is not None:
            lines.append(f"  power against the planted twin: {self.planted_power:.4f}")
        lines += [f"  twin {t.name!r}: {'caught' if t.caught else 'NOT caught'} ({t.detail})" for t in self.twins]
        lines.append(f"  reproduce: the same call with seed={self.seed}")
        return "\n".join(lines)


def _estimator_name(estimate, name: str | None) -> str:
    """The name the messages use: ``name`` if given, else the callable's ``__name__`` (lambdas: "estimate")."""
    if name is not None:
        return str(name)
    own = getattr(estimate, "__name__", None)
    return own if isinstance(own, str) and own.isidentifier() else "estimate"


def _check_alpha(alpha: float) -> float:
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 0.5):
        raise ValueError(f"alpha: must lie in (0, 0.5), got {alpha!r}")
    return float(alpha)


def _check_count(x, name: str, minimum: int) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {x!r}")
    return int(x)


def _draw(estimate: Estimator, n: int, gen: torch.Generator, shape: tuple, chunk: int, name: str) -> MomentAccumulator:
    """Stream n draws of ``estimate`` through a moment accumulator (bounded memory)."""
    acc = MomentAccumulator(full_covariance=False)
    left = n
    while left > 0:
        m = min(chunk, left)
        x = estimate(m, gen)
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name}: must return a torch.Tensor [n, ...], got {type(x).__name__}")
        if x.shape[0] != m or tuple(x.shape[1:]) != shape:
            raise ValueError(f"{name}: asked for {m} draws of shape {shape}, got a tensor of shape {tuple(x.shape)}")
        check_finite(x.to(torch.float64), name)
        acc.update(x.to(torch.float64))
        left -= m
    return acc


def _quantile(alpha: float, k: int) -> float:
    return float(_st.norm.isf(alpha / (2 * k)))


def _judge(acc: MomentAccumulator, truth: torch.Tensor, alpha: float) -> tuple[BiasTestResult, float]:
    res = bias_test(acc, truth.reshape(-1))
    return res, res.bias_bound(1 - alpha)


def assert_unbiased(estimate, truth, *, margin: float | None = None, relative_margin: float = 0.01,
                    alpha: float = 1e-4, twins: Mapping[str, Estimator] | None = None,
                    bias_twin: dict | None = None, seed: int = 0, pilot: int = 2000, max_samples: int = 10**7,
                    chunk: int = 2**16, name: str | None = None) -> UnbiasednessReport:
    r"""Assert E[ĝ] = g within a declared margin, with the test's power shown by twins.

    ``estimate``: a callable ``(n, generator) -> Tensor[n, *shape]`` returning n i.i.d. draws of your estimator ĝ
    (use the generator for every random choice: that makes the call reproducible), or a tensor ``[n, *shape]`` of
    draws already made (then nothing is planned: the assertion fails as underpowered if n is too small).
    ``truth``: the exact value g, ``[*shape]``. ``margin``: the largest |bias| (sup over coordinates) you accept,
    declared before running; default ``relative_margin`` · ‖g‖∞. ``alpha``: the test's level (see the module's
    false-failure rate). ``twins``: name → callable like ``estimate``, close-but-wrong variants that must fail.
    ``bias_twin``: :func:`planted_bias` spec (default: a bias of the margin's size, i.e. fraction = margin/‖g‖∞).

    Returns the :class:`UnbiasednessReport` when the assertion holds; raises :class:`StatisticalAssertionError` (an
    ``AssertionError``, so pytest shows it as a failure) with :meth:`UnbiasednessReport.explain` otherwise.
    """
    alpha = _check_alpha(alpha)
    seed = _check_count(seed, "seed", 0)
    chunk = _check_count(chunk, "chunk", 2)
    name = _estimator_name(estimate, name)
    g = check_finite(as_tensor(truth, "truth"), "truth")
    shape = tuple(g.shape)
    k = max(1, g.numel())
    scale = float(g.abs().max()) if g.numel() else 0.0
    if margin is None:
        if not (0 < relative_margin < float("inf")):
            raise ValueError(f"relative_margin: must be positive and finite, got {relative_margin!r}")
        if scale == 0:
            raise ValueError("margin: the truth is zero, so a relative margin is zero; declare an absolute margin")
        margin = relative_margin * scale
    if not (isinstance(margin, (int, float)) and 0 < margin < float("inf")):
        raise ValueError(f"margin: must be a positive finite number, got {margin!r}")
    planted = float(margin) if bias_twin is None else bias_twin["fraction"] * scale
    if planted <= 0:
        raise ValueError("bias_twin: the planted bias is zero (the truth is zero); omit bias_twin or give a margin")
    q = _quantile(alpha, k)
    gen = torch.Generator().manual_seed(seed)

    if isinstance(estimate, torch.Tensor):
        x = check_finite(as_tensor(estimate, name), name)
        if x.ndim == 0 or tuple(x.shape[1:]) != shape:
            raise ValueError(f"{name}: expected draws of shape [n, {', '.join(map(str, shape))}], got {tuple(x.shape)}")
        acc = MomentAccumulator(full_covariance=False).update(x)
        n = acc.n
        if twins:
            raise ValueError("twins: callable twins need a callable estimate (the same n is drawn from each)")
    elif callable(estimate):
        pilot = _check_count(pilot, "pilot", 10)
        max_samples = _check_count(max_samples, "max_samples", pilot)
        sd = _draw(estimate, pilot, gen, shape, chunk, name).variance.sqrt().numpy() * PLAN_SAFETY
        # an unbiased estimator lands inside the margin (2·q·SE ≤ margin) and the planted twin is powered
        z_pow = float(_st.norm.isf(1 - TWIN_POWER))
        need = max((2 * q * sd.max() / margin) ** 2, ((q + z_pow) * sd.max() / planted) ** 2, 2.0)
        n = int(math.ceil(need))
        if n > max_samples:
            raise StatisticalAssertionError(
                f"{name}: underpowered — deciding |bias| ≤ {margin:.4g} (and catching a planted bias of {planted:.4g}) "
                f"needs about {n} draws (pilot s.d. up to {sd.max() / PLAN_SAFETY:.4g}), more than max_samples = "
                f"{max_samples}; raise max_samples or the margin (seed {seed})")
        acc = _draw(estimate, n, gen, shape, chunk, name)
    else:
        raise TypeError(f"estimate: expected a callable (n, generator) -> Tensor or a tensor of draws, got {type(estimate).__name__}")

    res, bound = _judge(acc, g, alpha)
    sd_hat = acc.variance.sqrt().numpy()
    j = int(np.argmax(sd_hat))
    offset = np.zeros(k)
    offset[j] = planted
    power = detection_power(offset, sd_hat, n, alpha=alpha)
    outcomes = []
    if power < TWIN_POWER:
        outcomes.append(TwinOutcome(f"planted bias {planted:.3g}", False,
                                    f"power {power:.3f} < {TWIN_POWER}: this n could not catch it"))
    else:
        twin_res = bias_test(acc, g.reshape(-1) - torch.as_tensor(offset, dtype=g.dtype))
        caught = twin_res.pvalue < alpha or twin_res.bias_bound(1 - alpha) > margin
        outcomes.append(TwinOutcome(f"planted bias {planted:.3g} on coordinate {j}", bool(caught),
                                    f"p = {twin_res.pvalue:.3g}, power {power:.4f}"))
    for tname, twin in (twins or {}).items():
        if not callable(twin):
            raise TypeError(f"twins[{tname!r}]: expected a callable (n, generator) -> Tensor")
        tacc = _draw(twin, n, torch.Generator().manual_seed(seed + 1), shape, chunk, f"twins[{tname!r}]")
        tres, tbound = _judge(tacc, g, alpha)
        caught = tres.pvalue < alpha or tbound > margin
        outcomes.append(TwinOutcome(tname, bool(caught), f"p = {tres.pvalue:.3g}, |bias| bound {tbound:.4g}"))
    report = UnbiasednessReport(name, res, float(margin), bound, alpha, n, seed, tuple(outcomes), power)
    if not report.passed:
        raise StatisticalAssertionError("assert_unbiased failed\n" + report.explain(), report)
    return report


def assert_consistent(estimate_at: Callable[[int, int, torch.Generator], torch.Tensor], truth, sizes, *,
                      margin: float | None = None, relative_margin: float = 0.01, alpha: float = 1e-4, seed: int = 0,
                      pilot: int = 2000, max_samples: int = 10**7, name: str = "estimate") -> list[UnbiasednessReport | str]:
    r"""Assert a *consistent* (possibly biased at small sizes) estimator reaches the truth within ``margin``.

    ``estimate_at(m, n, generator)`` returns n i.i.d. draws of the estimator built from m inner samples (e.g. a
    self-normalised importance-sampling estimate from m draws). The assertion requires :func:`assert_unbiased` to hold
    at the largest size in ``sizes`` (its twins included); the smaller sizes are measured and their outcomes returned
    (a report, or the failure message) so the bias's decay can be read — they are not required to hold.
    """
    sizes = [_check_count(m, "sizes", 1) for m in sizes]
    if not sizes or sorted(sizes) != sizes:
        raise ValueError(f"sizes: expected a non-empty increasing list of sizes, got {sizes!r}")
    out: list[UnbiasednessReport | str] = []
    for m in sizes[:-1]:
        try:
            out.append(assert_unbiased(lambda n, g, m=m: estimate_at(m, n, g), truth, margin=margin,
                                       relative_margin=relative_margin, alpha=alpha, seed=seed, pilot=pilot,
                                       max_samples=max_samples, name=f"{name} (m = {m})"))
        except StatisticalAssertionError as e:
            out.append(str(e))
    m = sizes[-1]
    out.append(assert_unbiased(lambda n, g: estimate_at(m, n, g), truth, margin=margin, relative_margin=relative_margin,
                               alpha=alpha, seed=seed, pilot=pilot, max_samples=max_samples, name=f"{name} (m = {m})"))
    return out


@dataclass(frozen=True)
class VarianceReport:
    """Total variance tr Cov(ĝ) = E‖ĝ − Eĝ‖² with a delta-method interval."""

    name: str
    statistic: float
    standard_error: float
    bound: float
    alpha: float
    n: int
    seed: int

    def confidence_interval(self) -> tuple[float, float]:
        q = float(_st.norm.isf(self.alpha / 2))
        return self.statistic - q * self.standard_error, self.statistic + q * self.standard_error

    @property
    def pvalue(self) -> float:
        """One-sided p-value of H0: tr Cov ≤ bound."""
        if self.standard_error == 0:
            return 0.0 if self.statistic > self.bound else 1.0
        return float(_st.norm.sf((self.statistic - self.bound) / self.standard_error))


def assert_variance_at_most(estimate, bound: float, *, n: int = 100_000, alpha: float = 1e-4, seed: int = 0,
                            name: str = "estimate") -> VarianceReport:
    r"""Assert tr Cov(ĝ) ≤ ``bound``: fails when the one-sided test rejects H0: tr Cov(ĝ) ≤ bound at ``alpha``.

    The statistic is the unbiased sample total variance (1/(n−1)) Σ‖x_i − x̄‖²; its standard error is the sample s.d.
    of ‖x_i − x̄‖² over √n (delta method; valid for estimates with finite fourth moments, any n large enough for the
    CLT). False-failure rate ≤ α asymptotically. ``estimate`` as in :func:`assert_unbiased` (callable or draws).
    """
    alpha = _check_alpha(alpha)
    if not (isinstance(bound, (int, float)) and 0 <= bound < float("inf")):
        raise ValueError(f"bound: must be a non-negative finite number, got {bound!r}")
    seed = _check_count(seed, "seed", 0)
    if callable(estimate) and not isinstance(estimate, torch.Tensor):
        n = _check_count(n, "n", 3)
        x = estimate(n, torch.Generator().manual_seed(seed))
    else:
        x = estimate
    x = check_finite(as_tensor(x, name), name)
    if x.ndim == 0 or x.shape[0] < 3:
        raise ValueError(f"{name}: need at least 3 draws [n, ...], got shape {tuple(x.shape)}")
    x = x.reshape(x.shape[0], -1)
    n = x.shape[0]
    sq = ((x - x.mean(0)) ** 2).sum(1) * (n / (n - 1))
    rep = VarianceReport(name, float(sq.mean()), float(sq.std() / math.sqrt(n)), float(bound), alpha, n, seed)
    if rep.pvalue < alpha:
        lo, hi = rep.confidence_interval()
        raise StatisticalAssertionError(
            f"assert_variance_at_most failed\n{name}: total variance {rep.statistic:.6g} "
            f"({1 - alpha:.6g} interval [{lo:.6g}, {hi:.6g}]) exceeds the bound {bound:.6g} (p = {rep.pvalue:.3g}, "
            f"n = {n}, seed {seed})", rep)
    return rep


@dataclass(frozen=True)
class RateReport:
    """The :class:`~pgtheory.stats.RateFit` behind :func:`assert_rate`, with the declared expectation."""

    name: str
    fit: RateFit
    expected: float
    tolerance: float

    @property
    def slope(self) -> float:
        return self.fit.slope

    @property
    def statistic(self) -> float:
        return self.fit.slope

    @property
    def ci_low(self) -> float:
        return self.fit.ci_low

    @property
    def ci_high(self) -> float:
        return self.fit.ci_high

    def confidence_interval(self) -> tuple[float, float]:
        return self.fit.confidence_interval()


def assert_rate(x, errors, expected: float, *, tolerance: float = 0.1, confidence_level: float = 0.95,
                n_boot: int = 4000, seed: int = 0, name: str = "error") -> RateReport:
    r"""Assert error ∝ x^p with p within ``expected`` ± ``tolerance``: the bootstrap interval of the log-log slope
    (over runs, :func:`pgtheory.stats.fit_rate`) must lie inside [expected − tolerance, expected + tolerance].

    ``x [J]`` positive sizes (samples, iterations); ``errors [K, J]`` positive, one row per independent run. Like
    "unbiased", "has rate p" is an equivalence statement: an interval too wide to decide fails (say so by raising
    K or the range of x), it never passes for lack of data.
    """
    if not (isinstance(tolerance, (int, float)) and 0 < tolerance < float("inf")):
        raise ValueError(f"tolerance: must be positive and finite, got {tolerance!r}")
    if not math.isfinite(expected):
        raise ValueError(f"expected: must be finite, got {expected!r}")
    fit = fit_rate(x, errors, n_boot=n_boot, confidence_level=confidence_level, seed=seed)
    rep = RateReport(name, fit, float(expected), float(tolerance))
    if fit.n_seeds < 2:
        raise StatisticalAssertionError(f"assert_rate failed\n{name}: one run gives no interval; pass errors [K ≥ 2, J]", rep)
    if not (expected - tolerance <= fit.ci_low and fit.ci_high <= expected + tolerance):
        raise StatisticalAssertionError(
            f"assert_rate failed\n{name}: slope {fit.slope:.4g}, {confidence_level:.0%} interval "
            f"[{fit.ci_low:.4g}, {fit.ci_high:.4g}] not inside {expected:g} ± {tolerance:g} (K = {fit.n_seeds} runs, "
            f"{fit.n_points} sizes, bootstrap seed {seed})", rep)
    return rep
