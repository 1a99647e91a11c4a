r"""``pgtheory new-claim``: a complete, runnable claim module and its test, to edit into your own claim.

The template is not a stub: it registers a real claim ("the REINFORCE estimator of a softmax bandit's gradient is
unbiased") that runs under the verdict protocol exactly as the built-in ones do — a declared margin, instances,
an equivalence verdict with a powered near twin, a figure — split into the four steps every claim has: *design*
(instances fixed from the run seed), *measure* (Monte Carlo against exact truth), *decide* (the declared rule) and
*draw* (the figure). Register it from your package with an entry point in the group ``pgtheory.claims``::

    [project.entry-points."pgtheory.claims"]
    my_claims = "my_package.my_claim"

and it appears in ``pgtheory list`` / ``check`` / the ledger.
"""
from __future__ import annotations

import keyword
import os
import re
import tempfile
from pathlib import Path

__all__ = ["claim_template", "write_claim_template"]

_MODULE = '''r"""{slug}: replace this docstring with the paper, the quoted sentence and the design.

Protocol: kind=empirical, unbiasedness=True. Design (fixed before running): ``instances`` Bernoulli bandits with K arms
(means U[0, 1]) and softmax policies θ ~ N(0, 1); per instance, REINFORCE draws ĝ = (e_a − π) r of
∇J(θ) = π ⊙ (r̄ − J). Rule: the (1 − α) simultaneous interval of each instance's bias lies within the declared margin
(MARGIN_REL × ‖∇J‖∞; n planned per instance from a pilot), with a near twin (the target shifted by 1.5 × margin on its noisiest coordinate) rejected.
"""
from __future__ import annotations

import math

import torch
from scipy.stats import norm

from pgtheory.claims import Claim, Evidence, RunContext, register_claim
from pgtheory.claims.protocol import equivalence_verdict, twin, worst_equivalence
from pgtheory.claims.record import DeclaredMargin
from pgtheory.claims.style import new_figure, save_figure
from pgtheory.stats import bias_test

ID = "L{seed_line}-{slug}"
MARGIN_REL = 0.05  #: declared before running: a bias of 5% of ‖∇J‖∞ is of practical size


def design(ctx: RunContext) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The instances: (arm means [K], softmax parameters [K]), drawn from the run seed."""
    g = torch.Generator().manual_seed(ctx.seed)
    K = ctx.settings["arms"]
    return [(torch.rand(K, generator=g, dtype=torch.float64), torch.randn(K, generator=g, dtype=torch.float64))
            for _ in range(ctx.settings["instances"])]


def measure(ctx: RunContext, means: torch.Tensor, theta: torch.Tensor, g: torch.Generator):
    """(samples [n, K] of ĝ, the exact ∇J [K]); n planned from a pilot so that an unbiased estimator's interval fits
    inside the margin (2·q·s.d./√n ≤ margin, s.d. inflated by 25%), capped at the scale's ``max_samples``."""
    pi = theta.softmax(0)
    truth = pi * (means - (pi * means).sum())

    def draw_samples(n: int) -> torch.Tensor:
        a = torch.multinomial(pi, n, replacement=True, generator=g)
        r = (torch.rand(n, generator=g, dtype=torch.float64) < means[a]).double()
        return (torch.nn.functional.one_hot(a, len(pi)).double() - pi) * r[:, None]

    q = float(norm.isf(ctx.alpha / (2 * len(pi))))
    sd = float(draw_samples(ctx.settings["pilot"]).std(0).max()) * 1.25
    n = min(ctx.settings["max_samples"], max(ctx.settings["pilot"], math.ceil((2 * q * sd / (MARGIN_REL * float(truth.abs().max()))) ** 2)))
    return draw_samples(n), truth


def decide(ctx: RunContext, measured) -> tuple[str, list]:
    """The declared rule on every instance; the claim's verdict is the worst one."""
    outcomes = []
    for samples, truth in measured:
        margin = MARGIN_REL * float(truth.abs().max())
        wrong = truth.clone()
        wrong[int(samples.std(0).argmax())] += 1.5 * margin  # a near twin: a bias of 1.5 × the margin
        tw = [twin("shifted by 1.5 × margin", samples, truth, wrong, near=True, alpha=ctx.alpha)]
        outcomes.append(equivalence_verdict(bias_test(samples, truth), margin, tw, confidence_level=1 - ctx.alpha))
    return worst_equivalence(outcomes), outcomes


def draw(ctx: RunContext, outcomes) -> str:
    fig, axes = new_figure(ID, "bias bound per instance")
    ax = axes[0]
    ax.bar(range(len(outcomes)), [eq.bias_bound / eq.margin for _, eq in outcomes])
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xlabel("instance")
    ax.set_ylabel("bound on |bias| / declared margin")
    return save_figure(fig, ctx.figure_dir, ID)


def run(ctx: RunContext) -> Evidence:
    g = torch.Generator().manual_seed(ctx.seed + 1)
    measured = [measure(ctx, means, theta, g) for means, theta in design(ctx)]
    (verdict, eq), outcomes = decide(ctx, measured)
    return Evidence(verdict=verdict, statistic=eq.bias_bound / eq.margin, threshold="bias bound ≤ margin on every instance",
                    n_samples=sum(len(s) for s, _ in measured), summary=f"{{verdict}}: worst bias bound "
                    f"{{eq.bias_bound:.3g}} against margin {{eq.margin:.3g}}", figure=draw(ctx, outcomes),
                    instances=[v == "confirmed" for v, _ in outcomes], sensitivity=[], equivalence=eq)


register_claim(Claim(
    id=ID, paper="(the paper's title)", seed_line={seed_line},
    claim="REINFORCE is an unbiased estimator of the policy gradient (replace with your claim)",
    theme="PG", exact="∇J = π ⊙ (r̄ − J) for a softmax bandit", monte_carlo="REINFORCE draws",
    test="bias interval within 5% of ‖∇J‖∞ on every instance, near twin rejected",
    scales={{"quick": {{"instances": 3, "arms": 4, "pilot": 2000, "max_samples": 2_000_000}},
             "full": {{"instances": 20, "arms": 4, "pilot": 10_000, "max_samples": 20_000_000}}}},
    run=run, source="(where the definitions came from)", kind="empirical",
    quote="(the paper's sentence, verbatim)", quote_source="(where it was read)",
    # how the rule reads the sentence: as-written, our-criterion, stand-in, no-result (give reading_note="why" for
    # those, and extension=True), or by-construction (kind identity)
    reading="as-written",
    unbiasedness=True, margin=DeclaredMargin(MARGIN_REL, "‖∇J‖∞ of the instance"),
))
'''

_TEST = '''import pytest

import {module}  # noqa: F401  (registers the claim)
from pgtheory.claims.runner import check


@pytest.mark.statistical(false_failure_rate=1e-3)
def test_quick_run_confirms(tmp_path):
    (record,) = check([{module}.ID], scale="quick", results=str(tmp_path))
    assert record["verdict"] == "confirmed", record["summary"]
'''


def _slug(name: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise ValueError(f"name: expected a Python module name in lower case (letters, digits, _), got {name!r}")
    return name


def claim_template(name: str, seed_line: int) -> dict[str, str]:
    """{file name: text} of the claim module ``<name>.py`` and its test ``test_<name>.py``."""
    slug = _slug(name)
    if isinstance(seed_line, bool) or not isinstance(seed_line, int) or seed_line < 1:
        raise ValueError(f"seed_line: expected a positive integer (the line of the paper in your source list), got {seed_line!r}")
    return {f"{slug}.py": _MODULE.format(slug=slug.replace("_", "-"), seed_line=seed_line),
            f"test_{slug}.py": _TEST.format(module=slug)}


def write_claim_template(name: str, seed_line: int, out: str | os.PathLike = ".") -> list[Path]:
    """Write the template's files into ``out`` (atomically; refuses to overwrite an existing file)."""
    files = claim_template(name, seed_line)
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    for fn in files:
        if (d / fn).exists():
            raise FileExistsError(f"out: {d / fn} exists; choose another name or directory")
    written = []
    for fn, text in files.items():
        fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{fn}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, d / fn)
        written.append(d / fn)
    return written
