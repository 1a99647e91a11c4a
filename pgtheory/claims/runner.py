r"""Run claims at a scale: cached by (claim, scale, seed, code version), resumable, atomic, optionally parallel.

Each finished claim is written to ``<results>/cache/<claim>__<scale>__s<seed>__<version>.json`` with an
atomic rename, so an interrupted ``check`` resumes where it stopped and never leaves a half-written
file. After all claims finish, ``ledger.json``, ``LEDGER.md`` and ``ledger_table.tex`` are rewritten
(atomically) from the cached records. ``jobs > 1`` runs claims in separate processes; the
``executor`` argument accepts any ``concurrent.futures.Executor`` (a cluster backend plugs in there).
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import platform
import tempfile
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable

from .. import __version__
from .record import Claim, RunContext
from .registry import CLAIMS, all_claims
from .render import ledger_latex, ledger_markdown

__all__ = ["code_version", "run_claim", "check", "atomic_write_text", "load_ledger"]


def code_version() -> str:
    """Hash of the package's source files (changes whenever any of them changes)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(__version__.encode())
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace`` (never a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _cache_path(results: Path, claim_id: str, scale: str, seed: int, version: str) -> Path:
    return results / "cache" / f"{claim_id}__{scale}__s{seed}__{version}.json"


def run_claim(claim_id: str, scale: str, seed: int, device: str, results: str, version: str) -> dict[str, Any]:
    """Run one claim (in this process) and write its cached record; returns the record."""
    import torch

    from . import library  # noqa: F401

    claim: Claim = CLAIMS.get(claim_id)
    if scale not in claim.scales:
        raise ValueError(f"scale: expected one of {sorted(claim.scales)}, got {scale!r}")
    res = Path(results)
    fig_dir = res / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)  # claims use explicit generators; this only pins anything that does not
    t0 = time.perf_counter()
    ev = claim.run(RunContext(scale, dict(claim.scales[scale]), seed, device, str(fig_dir)))
    seconds = time.perf_counter() - t0
    record = {
        "id": claim.id, "paper": claim.paper, "seed_line": claim.seed_line, "claim": claim.claim, "theme": claim.theme,
        "test": claim.test, "verdict": ev.verdict, "statistic": ev.statistic, "threshold": ev.threshold,
        "n_samples": ev.n_samples, "summary": ev.summary, "details": ev.details,
        "figure": None if ev.figure is None else Path(ev.figure).relative_to(res).as_posix(),  # relative to the results dir
        "device": device, "seconds": round(seconds, 3), "scale": scale, "seed": seed, "code_version": version,
        "torch": torch.__version__, "host": platform.node(),
    }
    atomic_write_text(_cache_path(res, claim.id, scale, seed, version), json.dumps(record, indent=1, default=float))
    return record


def check(ids: Iterable[str] | None = None, *, scale: str = "quick", seed: int = 0, device: str = "cpu",
          results: str | Path = "results", jobs: int = 1, executor: Executor | None = None,
          progress: Callable[[str, dict[str, Any], bool], None] | None = None) -> list[dict[str, Any]]:
    """Run (or load from cache) the chosen claims and rewrite the ledger files; returns the records."""
    if jobs < 1:
        raise ValueError(f"jobs: must be >= 1, got {jobs}")
    claims = all_claims()
    known = {c.id for c in claims}
    chosen = sorted(known) if not ids else list(ids)
    for i in chosen:
        if i not in known:
            raise ValueError(f"ids: unknown claim {i!r}; known: {', '.join(sorted(known))}")
    res = Path(results)
    version = code_version()
    records: dict[str, dict[str, Any]] = {}
    todo = []
    for cid in chosen:
        cp = _cache_path(res, cid, scale, seed, version)
        if cp.exists():
            records[cid] = json.loads(cp.read_text())
            if progress:
                progress(cid, records[cid], True)
        else:
            todo.append(cid)
    own = executor is None and jobs > 1
    # spawn, not fork: a child forked after the parent ran OpenMP-threaded torch ops can hang in libgomp
    ex = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) if own else executor
    try:
        if ex is None:
            for cid in todo:
                records[cid] = run_claim(cid, scale, seed, device, str(res), version)
                if progress:
                    progress(cid, records[cid], False)
        else:
            futs = {cid: ex.submit(run_claim, cid, scale, seed, device, str(res), version) for cid in todo}
            for cid, f in futs.items():
                records[cid] = f.result()
                if progress:
                    progress(cid, records[cid], False)
    finally:
        if own:
            ex.shutdown()
    ordered = [records[c] for c in chosen]
    write_ledger(res, scale, seed, version)
    return ordered


def load_ledger(results: str | Path) -> list[dict[str, Any]]:
    return json.loads((Path(results) / "ledger.json").read_text())


def write_ledger(results: Path, scale: str, seed: int, version: str | None = None) -> None:
    """Rewrite ledger.json / LEDGER.md / ledger_table.tex from every cached record of one code version.

    ``version`` is the run's code version (default: the current one; a run passes its own, so that
    editing the source during a long run cannot detach the ledger from the records just written). A
    partial ``check IDS`` keeps the other claims' earlier records of the same version in the ledger.
    """
    version = code_version() if version is None else version
    latest: dict[str, dict[str, Any]] = {}
    for p in sorted((results / "cache").glob(f"*__{scale}__s{seed}__{version}.json")):
        r = json.loads(p.read_text())
        latest[r["id"]] = r
    rows = [latest[k] for k in sorted(latest, key=lambda i: (int(i.split("-")[0][1:]), i))]
    atomic_write_text(results / "ledger.json", json.dumps(rows, indent=1, default=float))
    atomic_write_text(results / "LEDGER.md", ledger_markdown(rows))
    atomic_write_text(results / "ledger_table.tex", ledger_latex(rows))
