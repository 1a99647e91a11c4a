"""Command-line entry point: ``pgtheory check``, ``pgtheory list``, ``pgtheory figures``, ``pgtheory demo``."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterator


class UserError(Exception):
    """A mistake in the command line or its environment: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``pgtheory check: error: ...``), without the usage block."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS reports one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _jobs_arg(text: str) -> int:
    """``--jobs``: an integer >= 1 or 'auto' (one claim process per available CPU, at most 8)."""
    if text == "auto":
        return max(1, min(_available_cpus(), 8))
    return _int_at_least(1)(text)


def _int_at_least(lo: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers >= ``lo`` (the error names the bound and the value)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {value}")
        return value

    parse.__name__ = f"integer >= {lo}"
    return parse


def _check_device(device: str) -> None:
    """UserError unless ``device`` is 'cpu' or a CUDA device that this machine has."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise UserError(f"device: expected cpu, cuda or cuda:N, got {device!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"device: {device!r} requested but CUDA is not available on this machine "
                            f"(torch {torch.__version__}); use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f"device: {device!r} requested but this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type != "cpu":
        raise UserError(f"device: expected cpu, cuda or cuda:N, got {device!r}")


def _check_writable_dir(path: str | Path, name: str, subdirs: tuple[str, ...] = ()) -> None:
    """UserError unless ``path`` is (or can be created as) a writable directory whose ``subdirs`` are not files."""
    import tempfile

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{name}: {p} is an existing file, not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{name}: cannot create directory {p}: {e.strerror or e}") from None
    try:
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as e:
        raise UserError(f"{name}: directory {p} is not writable: {e.strerror or e}") from None
    for sub in subdirs:
        if (p / sub).exists() and not (p / sub).is_dir():
            raise UserError(f"{name}: {p / sub} is an existing file, not a directory")


@contextlib.contextmanager
def _one_line_cache_warnings() -> Iterator[None]:
    """Show the runner's cache warnings as one line each (``pgtheory: warning: ...``); others unchanged."""
    import warnings

    from .claims.runner import CacheWarning

    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, CacheWarning):
                print(f"pgtheory: warning: {message}", file=sys.stderr, flush=True)
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.simplefilter("always", CacheWarning)
        warnings.showwarning = show
        yield


def _progress(cid: str, rec: dict, cached: bool) -> None:
    """The line printed when a claim finishes (or is loaded from the cache)."""
    tag = "cached" if cached else f"{rec['seconds']:.1f} s"
    from .claims.render import shown

    kind = f"[{rec['kind']}] " if rec.get("kind") else ""
    print(f"  {cid:34s} {shown(rec):12s} {kind}({tag})", flush=True)


def _on_start(cid: str) -> None:
    """The line printed when a claim starts running."""
    print(f"  running {cid} ...", flush=True)


def _seeds_arg(text: str) -> list[int]:
    """'0-9' or '0,3,5' (or a mix, '0-2,7') → distinct non-negative seeds in the order given."""
    out: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            a, b = int(lo), int(hi) if hi else int(lo)
            if a < 0 or b < a:
                raise ValueError
            out.extend(x for x in range(a, b + 1) if x not in out)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds like 0-9 or 0,3,5 (non-negative, ranges increasing), got {text!r}")
    return out


def _verdict_counts(records: list[dict]) -> str:
    """'empirical 2 (1 confirmed, 1 qualified); identity 1 (1 verified)': kinds apart, as the protocol asks."""
    from .claims.render import by_kind, verdict_counts

    groups = by_kind(records)
    if [k for k, _ in groups] == [None]:  # records from before the protocol: no kinds to separate
        return verdict_counts(records)
    return "; ".join(f"{k or 'no kind'} {len(g)} ({verdict_counts(g)})" for k, g in groups) or "none"


def _demo(args: argparse.Namespace) -> int:
    """Exact ground truth on a Garnet MDP and a toy sequence task, with the cross-checks that back it."""
    import torch

    from .exact import (evaluate_policy, linear_program, natural_gradient, pass_at_k, policy_gradient,
                        policy_gradient_autograd, policy_gradient_finite_difference, policy_iteration,
                        sequence_objective, sequence_policy_gradient, soft_value_iteration, value_iteration,
                        regularized_policy_gradient)
    from .policies import TabularSequencePolicy, TabularSoftmax
    from .problems import garnet, toy_sequence_task

    t0 = time.perf_counter()
    device = args.device
    mdp = garnet(args.states, args.actions, min(3, args.states), discount=0.9, seed=args.seed).to(device)
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions)
    theta = policy.random_params(args.batch, generator=torch.Generator(device).manual_seed(args.seed), device=device)
    ev = evaluate_policy(mdp, policy.probs(theta))
    g_pg = policy_gradient(mdp, policy, theta)
    g_ad = policy_gradient_autograd(mdp, policy, theta)
    g_fd = policy_gradient_finite_difference(mdp, policy, theta)
    rel = lambda a, b: float(((a - b).flatten(1).norm(dim=1) / b.flatten(1).norm(dim=1)).max())
    vi, pi_, lp = value_iteration(mdp), policy_iteration(mdp), linear_program(mdp)
    soft = soft_value_iteration(mdp, 0.1)
    g_soft = regularized_policy_gradient(mdp, policy, soft.policy.log(), 0.1)
    npg = natural_gradient(mdp, policy, theta[:1])
    adv = ev.advantage[:1] / (1 - mdp.discount)
    npg_err = float(((npg - npg.mean(-1, keepdim=True)) - (adv - adv.mean(-1, keepdim=True))).abs().max())
    print(f"{mdp!r}, {args.batch} random softmax policies on {device}")
    print(f"  J(θ) for the first five: {[round(x, 4) for x in ev.objective[:5].tolist()]}")
    print(f"  max relative error of ∇J: PG theorem vs autograd {rel(g_pg, g_ad):.2e}, vs central FD {rel(g_pg, g_fd):.2e}")
    print(f"  V*: VI vs PI {float((vi.v - pi_.v).abs().max()):.2e}, VI vs LP {float((vi.v - lp.v).abs().max()):.2e}; "
          f"J* = {float((mdp.initial * vi.v).sum()):.4f}")
    print(f"  soft VI (τ = 0.1): ‖∇J_τ(π*_τ)‖∞ = {float(g_soft.abs().max()):.2e} (zero at the optimum)")
    print(f"  natural gradient F⁺∇J vs A/(1−γ) (per-state centred): max error {npg_err:.2e}")
    task = toy_sequence_task(4, 4, 3, seed=args.seed)
    sp = TabularSequencePolicy(task)
    th = sp.random_params(generator=torch.Generator().manual_seed(args.seed))
    g = sequence_policy_gradient(sp, th)
    print(f"{task!r}")
    print(f"  J = {float(sequence_objective(sp, th)):.4f}, ‖∇J‖ = {float(g.norm()):.4f}, "
          f"pass@8 per prompt = {[round(x, 4) for x in pass_at_k(sp, th, 8).tolist()]}")
    print(f"done in {time.perf_counter() - t0:.2f} s")
    checks = {"∇J: PG theorem vs autograd": (rel(g_pg, g_ad), 1e-10), "∇J: PG theorem vs central FD": (rel(g_pg, g_fd), 1e-6),
              "V*: VI vs LP": (float((vi.v - lp.v).abs().max()), 1e-6)}
    failed = [f"{name} error {err:.2e} (tolerance {tol:.0e})" for name, (err, tol) in checks.items() if not err < tol]
    if failed:
        print(f"pgtheory demo: cross-check failed: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _validate_demo(args: argparse.Namespace) -> None:
    """Demo arguments that argparse cannot check: the device."""
    _check_device(args.device)


def _list(args: argparse.Namespace) -> int:
    import json

    from .claims import all_claims

    claims = all_claims()
    if args.json:
        print(json.dumps([c.describe() for c in claims], indent=1, ensure_ascii=False))
    else:
        for c in claims:
            where = "P" if c.practice_source else f"L{c.seed_line}"
            print(f"{c.id:28s} {where:5s} {c.theme:4s} {c.paper}")
    return 0


def _new_claim(args: argparse.Namespace) -> int:
    from .claims.template import write_claim_template

    try:
        paths = write_claim_template(args.name, args.seed_line, args.out)
    except (ValueError, FileExistsError) as e:
        raise UserError(str(e)) from e
    for p in paths:
        print(p)
    return 0


def _validate_check(args: argparse.Namespace) -> None:
    """Everything ``check`` can be refused for, before any claim runs: ids, device, the results directory."""
    from .claims.runner import validate_ids

    args.ids = validate_ids(args.ids or None)
    if args.address is not None and args.backend != "ray":
        raise UserError("address: only with --backend ray")
    if args.backend == "ray":
        from .claims.ray_backend import ray_available

        if not ray_available():
            raise UserError("backend: Ray is not installed; pip install -e '.[ray]' (or pip install ray)")
    _check_device(args.device)
    _check_writable_dir(args.results, "results", ("cache", "figures"))


def _check(args: argparse.Namespace) -> int:
    from ._perf import resolve_threads, tune_allocator
    from .claims import check, load_ledger
    from .claims.runner import ClaimsFailed

    tune_allocator()
    scale = "full" if args.full else "quick"
    t0 = time.perf_counter()
    res = args.results.rstrip("/") or "/"
    print(f"pgtheory check --{scale}: {len(args.ids)} claim(s), results in {res}/ (seed {args.seed}, device {args.device}, "
          f"jobs {args.jobs}, torch threads {resolve_threads(args.threads, jobs=args.jobs)} per claim process)", flush=True)
    cached = []

    def progress(cid: str, rec: dict, hit: bool) -> None:
        cached.extend([cid] if hit else [])
        _progress(cid, rec, hit)

    executor = None
    if args.backend == "ray":
        from .claims.ray_backend import RayExecutor

        executor = RayExecutor(args.address, num_cpus=None if args.address else args.jobs,
                               threads=resolve_threads(args.threads, jobs=args.jobs))
        print(f"backend: Ray ({args.address or f'a local instance with {args.jobs} CPU(s)'})", flush=True)
    try:
        if args.seeds:
            return _check_seeds(args, scale, res, progress, t0, executor)
        records = check(args.ids, scale=scale, seed=args.seed, device=args.device, results=args.results, jobs=args.jobs,
                        threads=args.threads, progress=progress, on_start=_on_start, executor=executor)
        failed: dict[str, str] = {}
    except ClaimsFailed as e:
        records, failed = e.records, e.failures
    finally:
        if executor is not None:
            executor.shutdown()
    if args.print_ledger:
        print()
        print(Path(res, "LEDGER.md").read_text(encoding="utf-8"))
    print(f"{len(records)} claim(s): {_verdict_counts(records)} ({len(cached)} from the cache) in "
          f"{time.perf_counter() - t0:.1f} s")
    rows = len(load_ledger(res))
    from .claims.report import write_report

    index = write_report(res)
    print(f"ledger: {res}/LEDGER.md ({rows} row{'' if rows == 1 else 's'}; also ledger.json, ledger_table.tex); "
          f"figures: {res}/figures/; report: {index}")
    for cid, text in failed.items():
        print(f"\n{cid} raised (no record written; the other claims ran and are cached):\n{text}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} claim(s) raised: {', '.join(failed)}; re-running the same command runs only them",
              file=sys.stderr)
    return 1 if failed else 0


def _check_seeds(args: argparse.Namespace, scale: str, res: str, progress, t0: float, executor=None) -> int:
    """``check --seeds``: the claims once per seed, then how often each verdict occurred per claim."""
    import json

    from .claims import check
    from .claims.runner import atomic_write_text, verdict_frequencies

    by_seed = {}
    for seed in args.seeds:
        print(f"seed {seed}:", flush=True)
        by_seed[seed] = check(args.ids, scale=scale, seed=seed, device=args.device, results=args.results, jobs=args.jobs,
                              threads=args.threads, progress=progress, on_start=_on_start, executor=executor)
    freq = verdict_frequencies(by_seed)
    print(f"verdicts over {len(args.seeds)} seeds ({scale} scale) in {time.perf_counter() - t0:.1f} s:")
    for cid, counts in freq.items():
        print(f"  {cid:34s} " + ", ".join(f"{v} {n}" for v, n in counts.items()))
    out = Path(res, f"verdict_frequencies_{scale}.json")
    atomic_write_text(out, json.dumps({"scale": scale, "seeds": args.seeds, "verdicts": freq,
                                       "by_seed": {str(s): {r["id"]: r["verdict"] for r in recs} for s, recs in by_seed.items()}},
                                      indent=1))
    print(f"frequencies: {out}; per-seed ledgers stay in {res}/cache/ (ledger.json holds the last seed's)")
    return 0


def _validate_report(args: argparse.Namespace) -> None:
    """The ledger must exist and the output directory be writable, before anything is written."""
    if not Path(args.results, "ledger.json").is_file():
        raise ValueError(f"results: no ledger at {Path(args.results, 'ledger.json')}; run `pgtheory check` first")
    args.out = str(Path(args.results, "report")) if args.out is None else args.out
    _check_writable_dir(args.out, "out", ("claims", "figures"))


def _report(args: argparse.Namespace) -> int:
    from .claims.report import write_report

    index = write_report(args.results, args.out)
    print(f"report: {index} (open it in a browser; {len(list(Path(args.out, 'claims').glob('*.html')))} claim pages)")
    return 0


def _validate_figures(args: argparse.Namespace) -> None:
    """Everything ``figures`` can be refused for, before any claim runs: families, device, output directories."""
    from .claims.figures import figures_out, validate_families

    args.families = validate_families(args.families or None)
    _check_device(args.device)
    args.out = figures_out("quick" if args.quick else "full", args.results, args.out, args.force)
    _check_writable_dir(args.results, "results", ("cache", "figures"))
    _check_writable_dir(args.out, "out")


def _figures(args: argparse.Namespace) -> int:
    from ._perf import tune_allocator
    from .claims.figures import figure_families, regenerate_figures

    tune_allocator()
    scale = "quick" if args.quick else "full"
    families = figure_families()
    n = sum(len(families[f]) for f in args.families)
    print(f"pgtheory figures: drawing {scale}-scale figures of {len(args.families)} famil{'y' if len(args.families) == 1 else 'ies'} "
          f"({n} claims) into {args.out}/ (claims cached in {args.results}/)", flush=True)
    try:
        written = regenerate_figures(args.families, scale=scale, results=args.results, out=args.out, device=args.device,
                                     jobs=args.jobs, threads=args.threads, force=args.force, stored_only=args.stored_only,
                                     progress=_progress, on_start=_on_start)
    except ValueError as e:
        if str(e).startswith("stored_only:"):
            raise UserError(str(e)) from None
        raise
    for p in written:
        print("wrote", p)
    print(f"{scale}-scale figures: {len(written)} files in {args.out}/")
    return 0


_BENCHMARKS = {"exact": "exact_gradient.py", "sampler": "sampler_throughput.py", "streaming": "streaming_bias.py",
               "optim": "optim_batched.py", "lstd": "lstd_batched.py", "threads": "threads.py",
               "sparse": "sparse_sampler.py", "scipy": "exact_vs_scipy.py"}


def _benchmarks_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "benchmarks"


def _validate_bench(args: argparse.Namespace) -> None:
    """The benchmark names, the benchmarks/ folder and the device, before any benchmark runs."""
    if not _benchmarks_dir().is_dir():
        raise UserError("bench: the benchmarks/ folder is not next to the package (run from a source checkout)")
    for name in args.which:
        if name not in _BENCHMARKS:
            raise UserError(f"which: unknown benchmark {name!r}; known: {', '.join(_BENCHMARKS)}")
    _check_device(args.device)


def _bench(args: argparse.Namespace) -> int:
    import runpy

    from ._perf import apply_threads, resolve_threads

    apply_threads(resolve_threads(args.threads))
    root = _benchmarks_dir()
    for name in args.which or list(_BENCHMARKS):
        print(f"=== {name}: benchmarks/{_BENCHMARKS[name]}", flush=True)
        mod = runpy.run_path(str(root / _BENCHMARKS[name]))
        mod["main"](["--device", args.device])
    return 0


_THREADS_HELP = ("torch threads per claim process: N or 'auto' (CPUs / jobs); default $PGTHEORY_THREADS or 1 — many "
                 "small tensor ops run fastest on one thread (pgtheory bench threads)")


def _threads_arg(value: str):
    """--threads: a positive integer or 'auto' (checked by argparse, the message names the option)."""
    from ._perf import resolve_threads

    try:
        resolve_threads(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'auto', got {value!r}") from None
    return value


def _no_validation(args: argparse.Namespace) -> None:
    """Commands whose arguments argparse checks completely."""


def build_parser() -> argparse.ArgumentParser:
    """The ``pgtheory`` argument parser; each subcommand sets ``func`` and ``validate`` (run before ``func``)."""
    parser = _Parser(prog="pgtheory", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="list the registered claims")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list, validate=_no_validation)
    ck = sub.add_parser("check", help="run claims and regenerate the ledger and figures")
    grp = ck.add_mutually_exclusive_group()
    grp.add_argument("--quick", action="store_true", help="quick scale (default): minutes on 2 CPU cores")
    grp.add_argument("--full", action="store_true", help="full scale: the published figures")
    ck.add_argument("ids", nargs="*", help="claim ids (default: all)")
    ck.add_argument("--device", default="cuda" if _cuda() else "cpu", choices=["cpu", "cuda"])
    ck.add_argument("--jobs", type=_jobs_arg, default=os.environ.get("PGTHEORY_JOBS", "auto"),
                    help="claims run in parallel processes: N >= 1 or 'auto' (default: $PGTHEORY_JOBS or 'auto', one per "
                         "available CPU, at most 8; each claim process uses --threads torch threads); with --backend ray "
                         "and no --address: the local Ray instance's CPUs")
    ck.add_argument("--backend", choices=["local", "ray"], default="local",
                    help="local: this process or a spawn pool (--jobs); ray: Ray tasks (pip install -e '.[ray]')")
    ck.add_argument("--address", default=None,
                    help="with --backend ray: an existing Ray cluster ('auto' or ray://host:10001); default: start a "
                         "local instance")
    sd = ck.add_mutually_exclusive_group()
    sd.add_argument("--seed", type=int, default=0)
    sd.add_argument("--seeds", type=_seeds_arg, default=None, metavar="SPEC",
                    help="run over several seeds (e.g. 0-9 or 0,3,5) and report how often each verdict occurs; "
                         "writes <results>/verdict_frequencies_<scale>.json")
    ck.add_argument("--threads", default=None, type=_threads_arg, help=_THREADS_HELP)
    ck.add_argument("--results", default="results", help="results directory (default: results)")
    ck.add_argument("--print-ledger", action="store_true", help="print the whole LEDGER.md table at the end")
    ck.set_defaults(func=_check, validate=_validate_check)
    fg = sub.add_parser("figures", help="regenerate figures/*.png|pdf from the claims (full scale by default)",
                        description="Run the figure families' claims (cached in --results) and copy their PNG and PDF "
                                    "figures out. Full scale writes the committed figures in figures/; --quick writes "
                                    "to <results>/figures-quick/ and refuses to write into figures/ without --force.")
    fg.add_argument("families", nargs="*", help="figure families (default: all)")
    fg.add_argument("--quick", action="store_true", help="quick scale (a smoke test): into <results>/figures-quick/")
    fg.add_argument("--force", action="store_true", help="let --quick --out figures overwrite the full-scale figures")
    fg.add_argument("--stored-only", action="store_true",
                    help="only redraw from stored measurements; fail (naming them) if any claim would have to run")
    fg.add_argument("--device", default="cuda" if _cuda() else "cpu", choices=["cpu", "cuda"])
    fg.add_argument("--jobs", type=_int_at_least(1), default=1, help="claims run in parallel processes (>= 1)")
    fg.add_argument("--results", default="results", help="results directory of the claims (default: results)")
    fg.add_argument("--threads", default=None, type=_threads_arg, help=_THREADS_HELP)
    fg.add_argument("--out", default=None,
                    help="output directory (default: figures/ at full scale, <results>/figures-quick/ with --quick)")
    fg.set_defaults(func=_figures, validate=_validate_figures)
    rp = sub.add_parser("report", help="write a static HTML report of a ledger (no server needed)",
                        description="Write <out>/index.html (the ledger, filterable by theme, kind and verdict) and a "
                                    "page per claim (quote, rule, evidence, sensitivity, figure, the command that "
                                    "reproduces it) from <results>/ledger.json; figures are copied alongside.")
    rp.add_argument("--results", default="results", help="results directory holding ledger.json (default: results)")
    rp.add_argument("--out", default=None, help="output directory (default: <results>/report)")
    rp.set_defaults(func=_report, validate=_validate_report)
    bn = sub.add_parser("bench", help="run the benchmarks (exact gradients, sampler throughput, streaming, batched optimiser seeds, batched LSTD)")
    bn.add_argument("which", nargs="*", help=f"{', '.join(_BENCHMARKS)} (default: all)")
    bn.add_argument("--device", default="cuda" if _cuda() else "cpu", choices=["cpu", "cuda"])
    bn.add_argument("--threads", default=None, type=_threads_arg,
                    help="torch threads for the benchmarks (N or 'auto'; default $PGTHEORY_THREADS or 1; "
                         "the 'threads' benchmark compares counts itself)")
    bn.set_defaults(func=_bench, validate=_validate_bench)
    nc = sub.add_parser("new-claim", help="write a runnable claim module and its test to edit into your own claim",
                        description="Write <name>.py (a complete claim under the verdict protocol: design, measure, "
                                    "decide, draw) and test_<name>.py into --out; register the module through the "
                                    "entry-point group 'pgtheory.claims' of your package.")
    nc.add_argument("name", help="module name (lower case letters, digits, _)")
    nc.add_argument("--seed-line", type=_int_at_least(1), required=True,
                    help="the paper's line in your source list (claim ids are L<seed line>-<name>)")
    nc.add_argument("--out", default=".", help="directory to write into (default: .)")
    nc.set_defaults(func=_new_claim, validate=_no_validation)
    demo = sub.add_parser("demo", help="exact ground truth on small problems, with its cross-checks")
    demo.add_argument("--states", type=_int_at_least(2), default=20, help="Garnet states (>= 2)")
    demo.add_argument("--actions", type=_int_at_least(2), default=4, help="actions per state (>= 2)")
    demo.add_argument("--batch", type=_int_at_least(1), default=64, help="random policies (>= 1)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--device", default="cuda" if _cuda() else "cpu", help="cpu, cuda or cuda:N")
    demo.set_defaults(func=_demo, validate=_validate_demo)
    return parser


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (e.g. captured output)
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line; user errors are one line on stderr and exit status 2 (bugs keep their traceback).

    Arguments are validated (``args.validate``) before anything runs: a ValueError or OSError raised there
    is the user's mistake. Errors raised while a command runs are not caught, except :class:`UserError`
    and a closed stdout (``pgtheory list | head -1``: quiet, exit status 141 as after SIGPIPE).
    """
    try:
        try:
            return _main(argv)
        finally:  # also after argparse's --help and errors (SystemExit): a closed pipe shows here, not at exit
            sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 141


def _main(argv: list[str] | None) -> int:
    """:func:`main` without the broken-pipe handling."""
    args = build_parser().parse_args(argv)
    try:
        with _one_line_cache_warnings():
            try:
                args.validate(args)
            except (ValueError, OSError) as e:
                raise UserError(str(e)) from None
            code = args.func(args)
    except UserError as e:
        print(f"pgtheory {args.command}: error: {e}", file=sys.stderr)
        return 2
    return code


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        return False


if __name__ == "__main__":
    sys.exit(main())
