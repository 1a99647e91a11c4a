r"""L155 (Towards Reliable Alignment: Uncertainty-aware RLHF, Banerjee & Gopalan, arXiv:2410.23726): "We theoretically
prove that our proposed methodology has less risk than the vanilla method."

Protocol: kind=empirical, extension=True. The paper's theorem is proved in its own theoretical model, whose exact
form (the constraint set, the noise law, the constants) could not be read here (see "not verified" below). This claim
measures, exactly per reward-model draw and by Monte Carlo over draws, whether an uncertainty-aware (conservative)
KL-regularised policy has less risk than the vanilla one in a model we chose: a failure here would show the
statement does not carry over to this natural setting, not that the paper's proof is wrong — so it can qualify,
never refute.

Risk (the paper's notion, as far as it could be read). The later version of the same paper (arXiv:2507.15906,
"Towards Reliable, Uncertainty-Aware Alignment", same authors) states in its abstract that variance-aware policy
optimisation "provably reduces the risk of outputting a worse policy than the default". The verdict therefore uses
risk(π̂) = P_draws[J(π̂) < J(π_ref)], the probability that the learned policy's TRUE value is below the reference
policy's. The variance and the lower 10% quantile of J(π̂) and the mean cost E[J_vanilla] − E[J_conservative] are
reported beside it, not decided on.

Design (fixed before running):
* Instances: (a) bandit prompts: K = 8 responses, true rewards r ~ N(0, 1), π_ref = softmax(N(0, I)); (b) toy-LLM
  prompts: every response of the enumerated toy sequence task (vocabulary 3 with EOS, length ≤ 3: 15 responses),
  π_ref = a random tabular autoregressive policy (logits N(0, 1)), true rewards N(0, 1) per (prompt, response).
* Reward-model noise (heteroscedastic): σ(y) = s·exp(U(log 0.2, log 2)) per response, independent of r; an ensemble
  of M members r̂_k = r + σ ⊙ ξ_k, ξ_k ~ N(0, I) i.i.d. (members independent given the truth).
* Policies: vanilla π ∝ π_ref·exp(r̄/β_v); conservative π ∝ π_ref·exp((r̄ − c·σ̂/√M)/β_c) (c standard errors of the
  ensemble mean; σ̂ = ensemble standard deviation) — :mod:`pgtheory.exact.uncertainty_aware`. β_v and β_c are
  solved per draw so that both policies sit at the same KL(π‖π_ref) = κ = ρ·(−log max_y π_ref(y)) (every draw can
  reach κ, since −log π_ref(argmax) ≥ −log max π_ref): a matched-KL comparison, fair to the vanilla method.
* Defaults and plausible ranges (swept one at a time at both scales): c = 1 ∈ {0.5, 1, 2}; ρ = 0.5 ∈ {0.25, 0.5,
  0.75}; M = 5 ∈ {3, 5, 10}; s = 3 ∈ {1.5, 3, 6} (in units of the true rewards' standard deviation; at s = 3 the
  standard error of the ensemble mean ranges over 0.27..2.7; Figure 1 of arXiv:2507.15906 shows ten reward models
  disagreeing on one response). What s means in practice (decision of 2026-11-30, wording corrected 2026-12-01,
  below): one member orders a random pair of responses as the true rewards do with probability 73% / 64% / 58% at
  s = 1.5 / 3 / 6, the mean of M = 5 members 84% / 75% / 65% (:func:`member_pairwise_accuracy`). The same
  standard-normal ξ are reused across the
  sweep (common random numbers).
* Per instance and setting: the exact McNemar test (:func:`pgtheory.stats.mcnemar.mcnemar_exact`, paired over the
  reward-model draws, binomial on the discordant draws) of P(J_cons < J_ref) = P(J_van < J_ref), two-sided at level
  α/(settings × (instances + 1)) (Bonferroni over this claim's decisions: the tests and, per setting, the minimum
  count of informative prompts below; revision 2026-12-01): "less" / "more" when it rejects with fewer / more
  conservative-only draws below J_ref *and* the risk difference is at least MIN_RISK_DIFFERENCE (one percentage
  point) in size, "tie" otherwise.
* Family rule per setting (the quote read as risk(conservative) ≤ risk(vanilla) on every instance, so a
  significant reversal of practical size on any prompt is a counterexample): refuted when ≥ REFUTE_FRACTION of the
  *informative* prompts are "more" (informative, fixed before testing: either policy's risk ≥ INFORMATIVE_RISK;
  prompts on which neither policy falls below π_ref only tie); qualified when some, fewer, are; confirmed when none
  is, at least :func:`n_min_informative` (at the same level) prompts are informative and the test has power (power
  twins below);
  inconclusive otherwise. "less" counts are reported. The default setting gives the raw verdict; the sweep feeds the
  protocol's sensitivity rule.
* Power twins (per setting), each at the same KL and judged by the same test against the vanilla policy, must be
  "more" risky on ≥ TWIN_MIN_FRACTION of the informative prompts, otherwise "no prompt more risky" is not evidence
  and the setting is inconclusive: the optimistic policy π ∝ π_ref·exp((r̄ + σ̂/√M)/β) (the conservative policy's
  mirror image: it shows the test sees a reversal of this mechanism) and the single-member policy
  π ∝ π_ref·exp(r̂_1/β) (M times the ensemble mean's noise variance in the same shape σ: riskier whatever the
  alignment of σ and r).
* Code checks: every matched policy has KL(π‖π_ref) = κ within KL_CHECK_TOL = 1e-6 (draws where the root finder
  stopped at float resolution above its 1e-10 tolerance are counted and reported); the c = 0 policy equals the
  vanilla one.

Revision (2026-11-30, quick seeds only, before any full run): the first quick run used s ∈ {0.5, 1, 2} (default 1).
Both methods then had P(J < J_ref) ≈ 0 on every prompt and the optimistic power twin was caught on 1/10 prompts: the
noise was too small for any risk to exist, so the family could not inform the claim. The noise scale was moved to
{1.5, 3, 6} (default 3). Second revision (same day, quick seeds): the family rule first asked for ≥ 80% of prompts
significantly "less" risky; prompts on which neither policy ever falls below π_ref can only tie, so that rule could
not be met by a true "≤" statement. It was replaced by the counterexample rule above (the theorem's "≤"), with the
power twin restricted to informative prompts. Under the first rule the default setting had one prompt significantly
more risky and two less (qualified by the family rule, then inconclusive because the twin, counted over all prompts,
was caught on 3/10).

Simplified relative to the paper: a single prompt per instance (no sequence-level training: the KL-regularised
optimum is used in closed form, which is what the paper's policy optimisation targets); Gaussian, independent
ensemble members around the truth (real ensembles share a common error, which no ensemble spread can reveal);
the conservative policy is the Gibbs policy of a lower confidence bound.

Not verified (the paper body could not be read through the tools available: only its abstract and the first lines
of the introduction): the exact form of the paper's conservative objective (a penalty c·σ̂, a Σ-weighted norm or
variance constraint on π − π_ref), its noise model, its constants, and whether its theorem compares the two methods
at equal constraint level or at equal KL. The risk notion is taken from the v2 abstract (arXiv:2507.15906).

Revision (2026-11-30, a referee's audit, before any full run): the record's declared range of s now matches the sweep
(1.5, 3, 6; it still listed the pre-revision 0.5–2), and the replication summary counts prompts on which the rule
holds (not significantly more risky), with the "less risky" count in the summary. Open items then: the refute
fraction over informative prompts, s = 6, and an exact McNemar test — done in the next revision.

Revision (2026-11-30, the referee's open items, before any confirmatory run on the new rule; the full run recorded at
run seed 1004 used the earlier rule):
* The refute fraction counts informative prompts only (as the power twin does; definition above). Reason: a prompt
  whose two policies never fall below π_ref can only tie, so counting it diluted a reversal on the prompts that can
  show one.
* The paired Student-t interval on the ±1/0 differences was replaced by the exact McNemar test (same Bonferroni
  level). Reason: with rare events (risks of a few per cent) the t interval's coverage is not guaranteed; the exact
  conditional binomial test has size ≤ its level for every number of discordant draws. The optimistic power twin
  uses the same test.
* s = 6 kept (decision 2026-11-30). Reason: the referee read s = 6 as "an ensemble standard error up to ≈ 5× the
  spread of the true rewards"; the quantity comparable with practice is how often a reward model orders two
  responses correctly, and s = 1.5 / 3 / 6 gives a single member 73% / 64% / 58% and the five-member mean 84% /
  75% / 65% against the true rewards (:func:`member_pairwise_accuracy`, exact). Reported reward-model accuracies
  (compared with that range at the end of this item): the best RewardBench model listed on the
  Llama-3.1-Nemotron-70B-Reward model card scores 85.8% on Chat-Hard, Llama-3.1-70B-Instruct as a judge 70.2% there (huggingface.co/nvidia/Llama-3.1-Nemotron-70B-Reward,
  README, read 2026-11-30); Coste et al. (ICLR 2024, "Reward model ensembles help mitigate overoptimization") train
  with 25% label noise "to better mirror real-world conditions"; Eisenstein et al. (2023, "Helping or herding?")
  report that reward models agreeing in distribution diverge under the distribution shift of alignment — where a
  conservative penalty is meant to act. Corrected 2026-12-01 (referee's audit): the earlier text called a 58% member
  (65% ensemble) "the hard, off-distribution end of that range, not outside it". It is *below* it: the cited
  70.2–85.8% are accuracies on Chat-Hard, i.e. on hard pairs of one benchmark, while 58% / 65% here are on random
  pairs, which are easier, so s = 6 is noisier than the cited practice (the ensemble mean's 84% / 75% at s = 1.5 /
  3 fall among the cited numbers, with the same caveat). s = 6 is kept as the pessimistic, off-distribution end of the
  sweep (where Eisenstein et al. report diverging reward models), not as a value inside the measured range; the
  referee found that dropping it would not have changed the shown verdict of the seed-1004 record. Not verified:
  accuracy against *true* rewards (benchmarks measure agreement with labels, which are themselves noisy, so real
  accuracies against the truth may be higher than the label agreement suggests).

Revision (2026-12-01, a second referee's audit, before any confirmatory run on the new rule; the full run recorded at
run seed 1004 used the earlier rule):
* Minimum informative prompts (the audit's blocking item): "confirmed" now needs ≥ N_MIN_INFORMATIVE informative
  prompts, else the setting is inconclusive. Before, a quick sweep point (s = 1.5) was "confirmed" on a single
  informative prompt and a test asserted "confirmed" with none. Why 14 and not the ≈ 5 first proposed: with no
  "more" among n informative prompts, a per-prompt reversal rate of REFUTE_FRACTION (the refute level) is excluded at
  one-sided level 5% (exact binomial, 0.8^n ≤ 0.05) only from n = 14; at n = 5 it would still be seen 33% of the
  time. Consequence: a quick run (10 prompts) can no longer confirm; a full run (36 prompts) can.
* Informative set fixed before testing: either policy's risk ≥ INFORMATIVE_RISK (before: vanilla risk ≥ 1% *or* a
  significant test, which selected prompts on the test's outcome and entered a significant "more" in both numerator
  and denominator). The power twins use the same set.
* Practical size: "more" / "less" need |risk_cons − risk_van| ≥ MIN_RISK_DIFFERENCE (one percentage point) besides
  significance (the 1004 record counted 0.02% → 0.48% as "more"); the twins are judged by the same test.
* A second power twin, the single-member policy (above), riskier by construction: the optimistic twin alone is the
  conservative policy's mirror image, so its power was the conservative policy's "less" rate, not independent
  evidence. Both twins must be powered.
* KL-solver stalls: the code check fires only past KL_CHECK_TOL = 1e-6 (was 1e-8 on the maximum over ~6.5 M solves,
  one stalled draw of which would have turned the claim inconclusive); stalled draws and the largest KL error are
  reported.
* Reported by the referee (not rerun here): the same-β reading (the conservative policy at the vanilla policy's β
  instead of matched KL) gives the same less/more counts on quick seeds 0–2 (3/1, 3/3, 3/2 against 2/1, 3/3, 3/2), so
  matching the KL is not what produces the reversals. Mechanism: σ(y) is a fixed per-prompt shape independent of r,
  so the penalty moves mass toward low-noise responses, which lowers or raises P(J < J_ref) depending on whether those
  responses are good.

Revision 2026-12-01 (multiplicity; referee of the paper draft; before the confirmatory run at seed 8): the McNemar
tests (and the power twins, judged by the same test) were at α/(instances × settings) — right for them, but the
minimum count of informative prompts needed to confirm, N_MIN_INFORMATIVE = 14, is itself a one-sided exact binomial
test (no "more" among n informative prompts excludes a reversal rate ≥ REFUTE_FRACTION only when 0.8^n ≤ its level)
at the fixed level 5%, one per setting, uncounted. Now every decision is at level α/k with k = settings × (instances
+ 1) (the tests of every prompt at every setting, plus one minimum-count decision per setting): k = 9 × 11 = 99 at
quick, 9 × 37 = 333 at full, and the minimum becomes :func:`n_min_informative` at that level: 56 at quick, 62 at full
(was 14). A full run has 36 prompts, so no setting can be confirmed at full scale any more — the design (36 prompts)
cannot show "no reversal among random prompts" at the ledger's level; refuted, qualified and inconclusive remain
decidable as before.
Second revision the same day (before the seed-8 run; no full run at the new size seen): a design that can never
confirm is not a test of the quote, so the full scale is re-planned to 100 instances (64 bandit + 36 toy-LLM prompts,
was 24 + 12): k = 9 × 101 = 909 and n_min_informative(α/909) = 66, reachable at the default setting when two thirds
of the prompts are informative (not at the sweep points s = 1.5 and M = 10, where 7–21 of 36 were informative) (the full runs at seeds 1004 and 1005 had 27 of 36 each: three quarters, about 75 of 100 expected).
The quick scale (10 prompts) still cannot confirm; it is a development run.

Revision 2026-12-01 (a referee of the seed-9 ledger; before the confirmatory run at seed 10): every claim with an
extension now states the verdict of its quoted sentence. Here it is ``inconclusive``: the paper's theorem is proved in its own model, which could not be read; the model here is our choice (a stand-in). The rule's own verdict
is kept as the raw verdict and reported; it no longer decides the sentence either way.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ...exact.sequence import sequence_probs
from ...exact.uncertainty_aware import (beta_for_kl, ensemble_mean_and_spread, gibbs_kl, gibbs_policy,
                                        matched_kl_policies, true_value, uncertainty_aware_policy, value_law)
from ...policies.sequence import TabularSequencePolicy
from ...problems.sequence import SequenceTask
from ...stats.mcnemar import mcnemar_exact
from ..record import Claim, Evidence, RunContext, sweep_point
from ..registry import register_claim
from ..style import new_figure, save_figure

ID = "L155-uncertainty-aware-less-risk"

N_ARMS = 8  #: bandit prompts: a small response set where the Gibbs policy can concentrate
SEQ_VOCAB, SEQ_LENGTH = 3, 3  #: toy LLM: 15 enumerated responses per prompt
NOISE_LOG_RANGE = (math.log(0.2), math.log(2.0))  #: heteroscedastic spread: a factor 10 between responses
DEFAULTS = {"penalty": 1.0, "kl_fraction": 0.5, "members": 5, "noise_scale": 3.0}
SWEEP = {"penalty": (0.5, 2.0), "kl_fraction": (0.25, 0.75), "members": (3, 10), "noise_scale": (1.5, 6.0)}
QUANTILE_LEVEL = 0.1  #: the lower quantile reported beside the risk
REFUTE_FRACTION = 0.2  #: a significant reversal on a fifth of random prompts contradicts a general "less risk"
TWIN_MIN_FRACTION = 0.5  #: the optimistic twin must be caught on at least half the informative prompts (power)
INFORMATIVE_RISK = 0.01  #: a prompt where neither policy falls below π_ref in ≥ 1% of draws cannot show a risk change
#: practical size of a risk difference (2026-12-01): "more" / "less" need significance and |Δ risk| ≥ one percentage
#: point, the same scale as INFORMATIVE_RISK (a 0.02% → 0.48% shift is not a reversal of practical size)
MIN_RISK_DIFFERENCE = 0.01
KL_SOLVER_TOL = 1e-10  #: beta_for_kl's tolerance: a draw whose matched KL misses it by more stalled at float resolution
KL_CHECK_TOL = 1e-6  #: a stalled draw is a bug only past this KL error (2026-12-01; it moves J by ≪ the risk resolution)


def _instances(gen: torch.Generator, n_bandits: int, n_prompts: int):
    """(family, π_ref [K], true reward [K], noise shape [K]) for each instance."""
    out = []
    for _ in range(n_bandits):
        ref = torch.softmax(torch.randn(N_ARMS, generator=gen, dtype=torch.float64), -1)
        r = torch.randn(N_ARMS, generator=gen, dtype=torch.float64)
        u = torch.rand(N_ARMS, generator=gen, dtype=torch.float64)
        out.append(("bandit", ref, r, (NOISE_LOG_RANGE[0] + u * (NOISE_LOG_RANGE[1] - NOISE_LOG_RANGE[0])).exp()))
    if n_prompts:
        n = SequenceTask(SEQ_VOCAB, SEQ_LENGTH, 1, lambda q, y: 0.0).n_sequences
        task = SequenceTask(SEQ_VOCAB, SEQ_LENGTH, n_prompts, torch.randn(n_prompts, n, generator=gen, dtype=torch.float64))
        policy = TabularSequencePolicy(task)
        refs = sequence_probs(policy, policy.random_params(generator=gen))
        for q in range(n_prompts):
            u = torch.rand(n, generator=gen, dtype=torch.float64)
            out.append(("toy LLM", refs[q], task.rewards[q], (NOISE_LOG_RANGE[0] + u * (NOISE_LOG_RANGE[1] - NOISE_LOG_RANGE[0])).exp()))
    return out


def member_pairwise_accuracy(noise_scale: float, members: int = 1, grid: int = 400) -> float:
    r"""How often one ensemble member (``members`` = 1) or the mean of ``members`` members orders two responses as the
    true rewards do, in this claim's noise model: P[(r_1 − r_2)(r̂_1 − r̂_2) > 0] with r_i ~ N(0, 1) and noise σ_i/√M,
    σ_i = s·e^{u_i}, u_i ~ U(NOISE_LOG_RANGE). Given σ_1, σ_2 the two differences are jointly Gaussian with correlation
    ρ = √2/√(2 + (σ_1² + σ_2²)/M), so the probability is 1/2 + arcsin(ρ)/π (Sheppard); averaged over u_1, u_2 by the
    midpoint rule on a ``grid``² grid (error ≪ 1e-4). Compares s with the pairwise accuracy of real reward models."""
    u = NOISE_LOG_RANGE[0] + (np.arange(grid) + 0.5) / grid * (NOISE_LOG_RANGE[1] - NOISE_LOG_RANGE[0])
    var = (noise_scale * np.exp(u)) ** 2 / members
    rho = np.sqrt(2.0) / np.sqrt(2.0 + var[:, None] + var[None, :])
    return float(0.5 + np.arcsin(rho).mean() / np.pi)


def _risk_test(below_other, below_vanilla, level):
    """Exact McNemar test over the draws (paired: the same ensemble draw) of 1[J_other < J_ref] against
    1[J_van < J_ref]: ("less" | "more" | "tie", the test); "less" / "more" need significance at ``level`` and a risk
    difference of at least :data:`MIN_RISK_DIFFERENCE` in size."""
    test = mcnemar_exact(below_other.numpy(), below_vanilla.numpy())
    sign = test.sign(level) if abs(test.difference) >= MIN_RISK_DIFFERENCE else 0
    return {-1: "less", 1: "more", 0: "tie"}[sign], test


def _compare(ref, r, shape, xi, setting, level):
    """Exact matched-KL policies for every draw; risk, law of J and the paired risk test (vanilla vs conservative)."""
    m, c, s = setting["members"], setting["penalty"], setting["noise_scale"]
    ens = r + s * shape * xi[:, :m, :]  # [N, M, K]
    kappa = setting["kl_fraction"] * float(-ref.max().log())
    pol = matched_kl_policies(ref, ens, kappa, c)
    j_ref = float(true_value(ref, r))
    j_van, j_con = true_value(pol.vanilla, r), true_value(pol.conservative, r)
    checks = []
    kl_err = torch.maximum((gibbs_kl(ref, ens.mean(-2), pol.beta_vanilla) - kappa).abs(),
                           (gibbs_kl(ref, ens.mean(-2) - c * ens.std(-2) / math.sqrt(m), pol.beta_conservative) - kappa).abs())
    if float(kl_err.max()) > KL_CHECK_TOL:
        checks.append(f"matched KL missed by {float(kl_err.max()):.2g}")
    outcome, test = _risk_test(j_con < j_ref, j_van < j_ref, level)
    law_v = value_law(j_van, level=QUANTILE_LEVEL, threshold=j_ref)
    law_c = value_law(j_con, level=QUANTILE_LEVEL, threshold=j_ref)
    return {"outcome": outcome, "risk_vanilla": law_v.prob_below,
            "risk_conservative": law_c.prob_below, "risk_diff": test.difference, "risk_diff_p": test.p_value,
            "discordant": [test.only_a, test.only_b],
            "var_vanilla": law_v.variance, "var_conservative": law_c.variance, "q_vanilla": law_v.lower_quantile,
            "q_conservative": law_c.lower_quantile, "mean_vanilla": law_v.mean, "mean_conservative": law_c.mean,
            "j_ref": j_ref, "kl": kappa, "kl_stalled_draws": int((kl_err > KL_SOLVER_TOL).sum()),
            "kl_max_error": float(kl_err.max())}, checks, (ens, kappa, j_ref, j_van)


def _matched_twin(ref, r, reward, kappa, j_ref, j_van, level) -> str:
    """The paired risk test applied to the Gibbs policy of ``reward`` [N, K] at the matched KL against the vanilla one."""
    j_twin = true_value(gibbs_policy(ref, reward, beta_for_kl(ref, reward, kappa)), r)
    return _risk_test(j_twin < j_ref, j_van < j_ref, level)[0]


def _optimistic_twin(ref, r, ens, kappa, j_ref, j_van, level) -> str:
    """The paired risk test applied to the optimistic policy (r̄ + σ̂/√M) against the vanilla one."""
    mean, spread = ensemble_mean_and_spread(ens)
    return _matched_twin(ref, r, mean + spread / math.sqrt(ens.shape[-2]), kappa, j_ref, j_van, level)


def _single_member_twin(ref, r, ens, kappa, j_ref, j_van, level) -> str:
    """The paired risk test applied to the Gibbs policy of one ensemble member r̂_1 = r + σ ⊙ ξ_1 (2026-12-01): the same
    noise shape as the ensemble mean's with M times its variance, whatever the alignment of σ and r — a twin riskier
    by construction, not the conservative policy's mirror image."""
    return _matched_twin(ref, r, ens[:, 0, :], kappa, j_ref, j_van, level)


TWINS = {"twin": _optimistic_twin, "twin_member": _single_member_twin}  #: row key → power twin


def _informative(row) -> bool:
    """A prompt that can show a risk change, fixed before testing (2026-12-01): either policy falls below π_ref in
    ≥ INFORMATIVE_RISK of the draws (symmetric in the two policies, not conditioned on the test's outcome)."""
    return max(row["risk_vanilla"], row["risk_conservative"]) >= INFORMATIVE_RISK


def _twin_power(rows, twin_outcomes) -> float:
    """Fraction of the informative prompts (:func:`_informative`, the set the rule judges) on which a twin is caught."""
    informative = [t for x, t in zip(rows, twin_outcomes) if _informative(x)]
    return informative.count("more") / len(informative) if informative else 0.0


def _refute_fraction(rows) -> float:
    """Fraction of the informative prompts that are significantly more risky (0 when none is informative)."""
    informative = [x for x in rows if _informative(x)]
    return sum(x["outcome"] == "more" for x in informative) / len(informative) if informative else 0.0


def n_min_informative(level: float) -> int:
    """"confirmed" needs at least this many informative prompts (2026-12-01): with none of n informative prompts "more",
    a per-prompt reversal rate ≥ REFUTE_FRACTION is excluded at one-sided ``level`` (exact binomial) only when
    (1 − REFUTE_FRACTION)^n ≤ level (14 at 5%; at the claim's per-decision level since the revision of 2026-12-01)."""
    if not 0 < level < 1:
        raise ValueError(f"level: must lie in (0, 1), got {level}")
    return math.ceil(math.log(level) / math.log(1.0 - REFUTE_FRACTION))


def _family_verdict(rows, twin_power: float, n_min: int) -> str:
    """``twin_power``: the smallest power of the twins (each must be caught on ≥ TWIN_MIN_FRACTION of the informative
    prompts). Confirmed also needs ≥ ``n_min`` informative prompts (:func:`n_min_informative`), else inconclusive."""
    more = sum(x["outcome"] == "more" for x in rows)
    if _refute_fraction(rows) >= REFUTE_FRACTION:
        return "refuted"
    if more > 0:
        return "qualified"
    if sum(_informative(x) for x in rows) < n_min:
        return "inconclusive"
    return "confirmed" if twin_power >= TWIN_MIN_FRACTION else "inconclusive"


def _settings():
    yield "default", None, dict(DEFAULTS)
    for name, values in SWEEP.items():
        for v in values:
            yield name, v, {**DEFAULTS, name: v}


def run(ctx: RunContext) -> Evidence:
    s = ctx.settings
    gen = torch.Generator().manual_seed(ctx.seed)
    inst = _instances(gen, s["bandits"], s["prompts"])
    m_max = max(max(SWEEP["members"]), DEFAULTS["members"])
    settings = list(_settings())
    # Bonferroni over this claim's decisions: every prompt's test at every setting and each setting's minimum count
    level = ctx.alpha / (len(settings) * (len(inst) + 1))
    n_min = n_min_informative(level)
    checks: list[str] = []
    results = {i: [] for i in range(len(settings))}  # setting index → one row per instance
    for k, (fam, ref, r, shape) in enumerate(inst):
        # one draw of standard-normal ensemble noise per instance, shared by every setting (common random numbers);
        # drawn instance by instance to hold one [draws, M_max, K] tensor at a time
        xi = torch.randn(s["draws"], m_max, ref.numel(), generator=gen, dtype=torch.float64)
        if k == 0:  # code check: c = 0 reproduces the vanilla policy
            ens0 = r + shape * xi[:50, :5]
            if float((uncertainty_aware_policy(ref, ens0, 0.7, 0.0) - gibbs_policy(ref, ens0.mean(-2), 0.7)).abs().max()) > 1e-15:
                checks.append("c = 0 policy differs from the vanilla policy")
        for i, (_, _, setting) in enumerate(settings):
            row, ch, extra = _compare(ref, r, shape, xi, setting, level)
            checks += ch
            row["family"] = fam
            for key, twin in TWINS.items():
                row[key] = twin(ref, r, *extra, level)
            results[i].append(row)
    per_setting, sensitivity, twins = {}, [], {}
    for i, (name, value, _) in enumerate(settings):
        rows = results[i]
        powers = {k: _twin_power(rows, [x[k] for x in rows]) for k in TWINS}
        verdict = _family_verdict(rows, min(powers.values()), n_min)
        key = f"{name}={value}" if value is not None else "default"
        per_setting[key], twins[key] = rows, powers
        if value is not None:
            sensitivity.append(sweep_point(name, value, verdict, less=sum(x["outcome"] == "less" for x in rows),
                                           more=sum(x["outcome"] == "more" for x in rows), instances=len(rows),
                                           informative=sum(_informative(x) for x in rows),
                                           refute_fraction=_refute_fraction(rows), twin_power=powers["twin"],
                                           twin_member_power=powers["twin_member"]))
    rows = per_setting["default"]
    outcomes = [x["outcome"] for x in rows]
    accuracy = {v: member_pairwise_accuracy(v) for v in sorted({DEFAULTS["noise_scale"], *SWEEP["noise_scale"]})}
    twin_outcomes = [x["twin"] for x in rows]
    twin_caught = twins["default"]["twin"]
    member_caught = twins["default"]["twin_member"]
    raw = _family_verdict(rows, min(twins["default"].values()), n_min)
    all_rows = [x for rs in per_setting.values() for x in rs]
    stalled = sum(x["kl_stalled_draws"] for x in all_rows)
    kl_max = max(x["kl_max_error"] for x in all_rows)
    n = len(rows)
    lower_var = sum(x["var_conservative"] < x["var_vanilla"] for x in rows)
    higher_q = sum(x["q_conservative"] > x["q_vanilla"] for x in rows)
    cost = [x["mean_vanilla"] - x["mean_conservative"] for x in rows]
    summary = (f"matched KL, c = {DEFAULTS['penalty']:g}, M = {DEFAULTS['members']}, {s['draws']} RM draws: conservative has "
               f"significantly less risk P(J < J_ref) on {outcomes.count('less')}/{n} prompts, more on {outcomes.count('more')}/{n} "
               f"({_refute_fraction(rows):.0%} of the {sum(_informative(x) for x in rows)} informative, "
               f"≥ {n_min} needed to confirm; exact McNemar and |Δ risk| ≥ {MIN_RISK_DIFFERENCE:g}) "
               f"(median risk {np.median([x['risk_vanilla'] for x in rows]):.3f} → {np.median([x['risk_conservative'] for x in rows]):.3f}); "
               f"lower Var J on {lower_var}/{n}, higher q{QUANTILE_LEVEL:g} on {higher_q}/{n}; mean cost E J_van − E J_cons "
               f"median {np.median(cost):.3g} (range {min(cost):.2g}..{max(cost):.2g}); power twins caught on "
               f"{twin_caught:.0%} (optimistic) and {member_caught:.0%} (single member) of informative prompts; "
               f"matched-KL solver stalled on {stalled} draws (max KL error {kl_max:.1g}); one member's pairwise accuracy against the true rewards "
               f"{accuracy[DEFAULTS['noise_scale']]:.0%} at s = {DEFAULTS['noise_scale']:g} "
               f"(s range: {min(accuracy.values()):.0%}..{max(accuracy.values()):.0%}); sweep verdicts: " + ", ".join(f"{p['constant']}={p['value']}: {p['verdict']}" for p in sensitivity))
    return Evidence(
        quote_verdict="inconclusive",  # see the revision of 2026-12-01 in the docstring
        verdict=raw, statistic=outcomes.count("less") / n,
        threshold=(f"no prompt more risky, ≥ {n_min} informative prompts (either policy's risk ≥ "
                   f"{INFORMATIVE_RISK:g}) and both power twins caught on ≥ {TWIN_MIN_FRACTION:g} of them (confirm); "
                   f"≥ {REFUTE_FRACTION:g} of the informative prompts more risky (refute); some (qualified); else "
                   f"inconclusive; per prompt: exact McNemar test at level {level:.3g} (= α/(settings·(prompts + 1)); "
                   f"the minimum count {n_min} excludes a reversal rate ≥ {REFUTE_FRACTION:g} at the same level) and |Δ risk| ≥ "
                   f"{MIN_RISK_DIFFERENCE:g}"),
        n_samples=s["draws"] * n * len(settings), summary=summary,
        details={"per_setting": per_setting, "twin_outcomes": twin_outcomes, "twin_power": twins,
                 "test_level": level, "member_pairwise_accuracy": accuracy, "defaults": DEFAULTS, "sweep": {k: list(v) for k, v in SWEEP.items()},
                 "lower_variance": lower_var, "higher_lower_quantile": higher_q, "mean_cost": cost,
                 "kl_stalled_draws": stalled, "kl_max_error": kl_max, "n_min_informative": n_min},
        instances=[o != "more" for o in outcomes], sensitivity=sensitivity, code_checks=sorted(set(checks)),
        measurements=_measurements(rows, sensitivity, outcomes, raw),
    )


def _measurements(rows, sensitivity, outcomes, verdict) -> dict:
    """What the figure is drawn from: per prompt (default setting) the family, both policies' risk and lower quantile
    and J_ref; per setting (default, then the sweep) its label and the fractions of prompts with less and more risk."""
    n = len(rows)
    return {"family": [x["family"] for x in rows],
            **{key: np.array([x[key] for x in rows], dtype=float)
               for key in ("risk_vanilla", "risk_conservative", "q_vanilla", "q_conservative", "j_ref")},
            "settings": ["default"] + [f"{p['constant'][:7]}={p['value']:g}" for p in sensitivity],
            "less": np.array([outcomes.count("less") / n] + [p["less"] / p["instances"] for p in sensitivity]),
            "more": np.array([_refute_fraction(rows)] + [p["refute_fraction"] for p in sensitivity]),
            "verdict": verdict}


def _draw(m: dict, figure_dir: str) -> str:
    """The figure, from the stored measurements: risk and lower quantile of both policies per prompt, and the
    fractions of prompts with less and more risk per setting."""
    fig, (a1, a2, a3) = new_figure(ID, f"uncertainty-aware vs vanilla at matched KL — raw verdict: {m['verdict']}",
                                   ncols=3, width=3.6, height=3.3)
    colours = {"bandit": "tab:blue", "toy LLM": "tab:orange"}
    for fam, col in colours.items():
        sel = np.array([f == fam for f in m["family"]], dtype=bool)
        if sel.any():
            a1.scatter(m["risk_vanilla"][sel], m["risk_conservative"][sel], s=14, c=col, label=fam)
            a2.scatter((m["q_vanilla"] - m["j_ref"])[sel], (m["q_conservative"] - m["j_ref"])[sel], s=14, c=col,
                       label=fam)
    top = max(max(m["risk_vanilla"]), max(m["risk_conservative"]), 1e-3) * 1.05
    a1.plot([0, top], [0, top], "k--", lw=0.8, label="equal risk")
    a1.set_xlabel("vanilla: P(J < J_ref)")
    a1.set_ylabel("conservative: P(J < J_ref)")
    a1.legend(fontsize=7)
    qs = list(m["q_vanilla"] - m["j_ref"]) + list(m["q_conservative"] - m["j_ref"])
    lo, hi = min(qs), max(qs)
    a2.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    a2.set_xlabel(f"vanilla: q{QUANTILE_LEVEL:g}(J) − J_ref [reward]")
    a2.set_ylabel(f"conservative: q{QUANTILE_LEVEL:g}(J) − J_ref [reward]")
    labels, less, more = list(m["settings"]), m["less"], m["more"]
    x = np.arange(len(labels))
    a3.bar(x - 0.2, less, 0.4, label="less risk (of all)", color="tab:green")
    a3.bar(x + 0.2, more, 0.4, label="more risk (of informative)", color="tab:red")
    a3.axhline(REFUTE_FRACTION, color="tab:red", ls=":", lw=0.8, label="refute level")
    a3.set_xticks(x)
    a3.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    a3.set_ylabel("fraction of prompts (significant)")
    a3.legend(fontsize=7)
    return save_figure(fig, figure_dir, ID)


register_claim(Claim(
    id=ID, paper="Towards Reliable Alignment: Uncertainty-aware RLHF", seed_line=155,
    draw=_draw, figure_family="risk_distributional",
    claim="an uncertainty-aware, conservative KL-regularised policy has less risk (probability of a worse policy than the "
          "reference) than the vanilla KL-regularised policy",
    theme="RISK, KL",
    exact="closed-form Gibbs policies π ∝ π_ref·exp(r̂/β) of the ensemble mean and of its lower confidence bound, β solved "
          "per draw for a matched KL(π‖π_ref); true value E_π[r] per draw",
    monte_carlo="draws of a heteroscedastic reward-model ensemble r̂_k = r + σ ⊙ ξ_k",
    test="per prompt: exact McNemar test of P(J_cons < J_ref) = P(J_van < J_ref) over paired draws (Bonferroni) and a "
         "risk difference ≥ 1 pp; family: none more (≥ n_min informative prompts: 0.8^n_min ≤ the test level; two powered twins) confirms, ≥ 20% of "
         "informative prompts more refutes, some more qualifies",
    scales={"quick": {"bandits": 6, "prompts": 4, "draws": 2000},
            "full": {"bandits": 64, "prompts": 36, "draws": 20000}},
    run=run, source="arXiv:2410.23726 (abstract; body not read); risk notion from the abstract of arXiv:2507.15906",
    kind="empirical",
    reading="our-criterion",
    reading_note=("the paper's theorem is proved in its own model, which could not be read; the model here is our "
                  "choice, so the check decides our model's version of the theorem"),
    quote="We theoretically prove that our proposed methodology has less risk than the vanilla method.",
    quote_source="seed abstract (line 155)",
    extension=True, unbiasedness=False,
    # penalty: c in standard errors; kl_fraction: the matched-KL fraction ρ; members: ensemble size M; noise_scale: s
    constants={"penalty": [0.5, 1.0, 2.0], "kl_fraction": [0.25, 0.5, 0.75], "members": [3, 5, 10],
               "noise_scale": [1.5, 3.0, 6.0]},
))
