"""Command-line entry point: ``pgtheory check``, ``pgtheory list``, ``pgtheory demo``."""
from __future__ import annotations

import argparse
import sys
import time


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
    mdp = garnet(args.states, args.actions, 3, discount=0.9, seed=args.seed).to(device)
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
    ok = rel(g_pg, g_ad) < 1e-10 and rel(g_pg, g_fd) < 1e-6 and float((vi.v - lp.v).abs().max()) < 1e-6
    return 0 if ok else 1


def _list(args: argparse.Namespace) -> int:
    import json

    from .claims import all_claims

    claims = all_claims()
    if args.json:
        print(json.dumps([c.describe() for c in claims], indent=1, ensure_ascii=False))
    else:
        for c in claims:
            print(f"{c.id:28s} L{c.seed_line:<4d} {c.theme:4s} {c.paper}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from ._perf import tune_allocator
    from .claims import check

    tune_allocator()
    scale = "full" if args.full else "quick"
    t0 = time.perf_counter()

    def progress(cid, rec, cached):
        tag = "cached" if cached else f"{rec['seconds']:.1f} s"
        print(f"  {cid:28s} {rec['verdict']:12s} ({tag})", flush=True)

    print(f"pgtheory check --{scale}: results in {args.results}/ (seed {args.seed}, device {args.device}, jobs {args.jobs})")
    check(args.ids or None, scale=scale, seed=args.seed, device=args.device, results=args.results, jobs=args.jobs, progress=progress)
    print()
    print(open(f"{args.results}/LEDGER.md", encoding="utf-8").read())
    print(f"ledger: {args.results}/ledger.json, {args.results}/LEDGER.md, {args.results}/ledger_table.tex; "
          f"figures: {args.results}/figures/ ({time.perf_counter() - t0:.1f} s)")
    return 0


def _figures(args: argparse.Namespace) -> int:
    from ._perf import tune_allocator
    from .claims.figures import regenerate_figures

    tune_allocator()
    scale = "quick" if args.quick else "full"
    for p in regenerate_figures(args.families or None, scale=scale, results=args.results, out=args.out,
                                device=args.device, jobs=args.jobs):
        print("wrote", p)
    return 0


def _bench(args: argparse.Namespace) -> int:
    import runpy
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "benchmarks"
    scripts = {"exact": "exact_gradient.py", "sampler": "sampler_throughput.py", "streaming": "streaming_bias.py"}
    if not root.is_dir():
        raise SystemExit("bench: the benchmarks/ folder is not next to the package (run from a source checkout)")
    for name in args.which or list(scripts):
        if name not in scripts:
            raise SystemExit(f"which: unknown benchmark {name!r}; known: {', '.join(scripts)}")
        print(f"=== {name}: benchmarks/{scripts[name]}", flush=True)
        mod = runpy.run_path(str(root / scripts[name]))
        mod["main"](["--device", args.device])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pgtheory", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="list the registered claims")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
    ck = sub.add_parser("check", help="run claims and regenerate the ledger and figures")
    grp = ck.add_mutually_exclusive_group()
    grp.add_argument("--quick", action="store_true", help="quick scale (default): minutes on 2 CPU cores")
    grp.add_argument("--full", action="store_true", help="full scale: the published figures")
    ck.add_argument("ids", nargs="*", help="claim ids (default: all)")
    ck.add_argument("--device", default="cuda" if _cuda() else "cpu", choices=["cpu", "cuda"])
    ck.add_argument("--jobs", type=int, default=1)
    ck.add_argument("--seed", type=int, default=0)
    ck.add_argument("--results", default="results")
    ck.set_defaults(func=_check)
    fg = sub.add_parser("figures", help="regenerate figures/*.png|pdf from the claims (full scale by default)")
    fg.add_argument("families", nargs="*", help="figure families (default: all)")
    fg.add_argument("--quick", action="store_true")
    fg.add_argument("--device", default="cuda" if _cuda() else "cpu", choices=["cpu", "cuda"])
    fg.add_argument("--jobs", type=int, default=1)
    fg.add_argument("--results", default="results")
    fg.add_argument("--out", default="figures")
    fg.set_defaults(func=_figures)
    bn = sub.add_parser("bench", help="run the benchmarks (exact gradients, sampler throughput, streaming)")
    bn.add_argument("which", nargs="*", help="exact, sampler, streaming (default: all)")
    bn.add_argument("--device", default="cuda" if _cuda() else "cpu", choices=["cpu", "cuda"])
    bn.set_defaults(func=_bench)
    demo = sub.add_parser("demo", help="exact ground truth on small problems, with its cross-checks")
    demo.add_argument("--states", type=int, default=20)
    demo.add_argument("--actions", type=int, default=4)
    demo.add_argument("--batch", type=int, default=64)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--device", default="cuda" if _cuda() else "cpu")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    return args.func(args)


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        return False


if __name__ == "__main__":
    sys.exit(main())
