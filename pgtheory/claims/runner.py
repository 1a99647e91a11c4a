r"""Run claims at a scale: cached by (claim, scale, seed, code version), resumable, atomic, optionally parallel.

The code version is per claim (:func:`claim_versions`): a hash of the files the claim's record depends on (its
module, what it imports transitively, and the runner; :mod:`pgtheory.claims.dependencies`), so an edit re-runs
only the claims it can affect; each record also keeps the git commit of the tree it ran from.
Each finished claim is written to ``<results>/cache/<claim>__<scale>__s<seed>__<version>.json`` with an
atomic rename, so an interrupted ``check`` resumes where it stopped and never leaves a half-written
file. After all claims finish, ``ledger.json``, ``LEDGER.md`` and ``ledger_table.tex`` are rewritten
(atomically) from the cached records. ``jobs > 1`` runs claims in separate processes; the
``executor`` argument accepts any ``concurrent.futures.Executor`` (a cluster backend plugs in there).

A cached record is reused only if it parses and its figure files still exist: a corrupt or unreadable
cache file is reported (a :class:`CacheWarning` naming the file), set aside as ``<name>.corrupt`` and
its claim re-run; a record whose PNG or PDF figure is missing is re-run to redraw it. Files are created
with the permissions the user's umask allows (``0o666 & ~umask``), like any ``open(path, "w")``.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import platform
import subprocess
import tempfile
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .. import __version__
from .protocol import apply_protocol, claim_alpha, run_seed, validate_record
from .measurements import load_measurements, save_measurements
from .record import Claim, RunContext
from .registry import CLAIMS, all_claims, load_claims
from .render import ledger_latex, ledger_markdown

__all__ = ["CacheWarning", "code_version", "claim_versions", "verdict_frequencies", "measurements_path", "redraw_from_store",
           "run_claim", "check", "atomic_write_text", "load_ledger", "write_ledger"]


class CacheWarning(UserWarning):
    """A cached record could not be used (corrupt, unreadable, or its figure is missing); its claim re-runs."""


#: the keys of a record that the ledger needs (a cache file without them is treated as corrupt)
_RECORD_KEYS = frozenset({"id", "paper", "verdict", "statistic", "threshold", "n_samples", "device", "seconds", "summary"})


def provenance() -> dict[str, Any]:
    """What a record needs to be reproduced: git commit and dirty flag of the source tree, library versions."""
    import numpy
    import scipy
    import torch

    root = Path(__file__).resolve().parents[2]
    commit, dirty = "unknown", None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "pgtheory"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
        dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass  # not a git checkout (an installed wheel): the code_version hash still identifies the sources
    versions = {"python": platform.python_version(), "pgtheory": __version__, "numpy": numpy.__version__,
                "scipy": scipy.__version__, "torch": torch.__version__}
    return {"git_commit": commit, "dirty": dirty, "versions": versions, "torch": torch.__version__}


def claim_versions(ids: Iterable[str]) -> dict[str, str]:
    """Each claim's cache key: a hash of the source files its record depends on (see :mod:`.dependencies`)."""
    from .dependencies import claim_code_versions

    load_claims()
    alpha = claim_alpha(len(CLAIMS.names()))  # a claim decides at its α share: a change of α is a change of the record
    return {cid: f"{v}a{alpha:.3g}".replace(".", "p").replace("-", "m")
            for cid, v in claim_code_versions([CLAIMS.get(i) for i in ids]).items()}


def code_version() -> str:
    """Hash of all the package's source files (changes whenever any of them changes); claims use :func:`claim_versions`."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(__version__.encode())
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def current_umask() -> int:
    """The process's umask, read without changing it where ``/proc`` allows (else set and restored at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0)
    os.umask(old)
    return old


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace`` (never a partial file).

    ``mkstemp`` creates the temporary file with mode 0600; it is widened to ``0o666 & ~umask`` before the
    rename, so the result has the permissions a plain ``open(path, "w")`` would give it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _cache_path(results: Path, claim_id: str, scale: str, seed: int, version: str) -> Path:
    return results / "cache" / f"{claim_id}__{scale}__s{seed}__{version}.json"


def measurements_path(results: Path, claim_id: str, scale: str, seed: int, version: str) -> Path:
    """Where a run stores the measurements its figure is drawn from (next to its cached record)."""
    return Path(results) / "measurements" / f"{claim_id}__{scale}__s{seed}__{version}.npz"


def redraw_from_store(claim_id: str, scale: str, seed: int, results: str | Path,
                      version: str | None = None) -> dict[str, Any] | None:
    """Redraw a claim's figure from its stored measurements without running it; the record, or None if impossible.

    Possible when the claim declares ``draw`` and its current cached record (this code version) names a measurements
    file that exists. The record is not changed: drawing is not deciding.
    """
    load_claims()
    if claim_id not in CLAIMS.names() or CLAIMS.get(claim_id).draw is None:
        return None
    claim: Claim = CLAIMS.get(claim_id)
    res = Path(results)
    version = claim_versions([claim_id])[claim_id] if version is None else version  # callers batch this
    path = _cache_path(res, claim_id, scale, seed, version)
    record = load_cached(path) if path.exists() else None
    if record is None or not record.get("measurements") or not (res / record["measurements"]).is_file():
        return None
    png = claim.draw(load_measurements(res / record["measurements"]), str(res / "figures"))
    if Path(png).resolve() != (res / str(record.get("figure"))).resolve():
        raise ValueError(f"draw: claim {claim_id} drew {png}, but its record names {record.get('figure')}")
    return record


def _set_aside(path: Path, why: str) -> None:
    """Warn about an unusable cache file (by name) and rename it to ``<name>.corrupt`` so it is not read again."""
    aside = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, aside)
        where = f"moved to {aside}"
    except OSError as e:
        where = f"could not be moved aside ({e.strerror or e})"
    warnings.warn(f"cache: ignoring {path}: {why}; {where}", CacheWarning, stacklevel=3)


def load_cached(path: Path) -> dict[str, Any] | None:
    """The record in cache file ``path``, or None (with a :class:`CacheWarning`, the file set aside) if unusable.

    Unusable: unreadable, not UTF-8, not valid JSON (e.g. truncated), or not a record (an object with
    the keys the ledger needs).
    """
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        _set_aside(path, f"{type(e).__name__}: {getattr(e, 'strerror', None) or e}")
        return None
    if not isinstance(record, dict) or not _RECORD_KEYS <= record.keys():
        lacks = sorted(_RECORD_KEYS - record.keys()) if isinstance(record, dict) else ["(not a JSON object)"]
        _set_aside(path, f"not a claim record (lacks {', '.join(lacks)})")
        return None
    return record


def missing_figures(results: Path, record: dict[str, Any]) -> list[Path]:
    """The figure files (PNG and its PDF) that ``record`` names but that do not exist under ``results``."""
    if not record.get("figure"):
        return []
    png = Path(results) / record["figure"]
    return [p for p in (png, png.with_suffix(".pdf")) if not p.is_file()]


def _usable_cached(results: Path, path: Path) -> dict[str, Any] | None:
    """The cached record at ``path`` if it exists, parses and its figures are present; else None (re-run).

    A missing figure is first redrawn from the record's stored measurements (:func:`redraw_from_store`: seconds, and
    the record is unchanged); only when that is impossible or fails does the claim re-run.
    """
    if not path.exists():
        return None
    record = load_cached(path)
    if record is None:
        return None
    missing = missing_figures(results, record)
    if missing:
        why = "no stored measurements to redraw it from"
        if record.get("measurements"):
            try:
                if redraw_from_store(record["id"], record["scale"], record["seed"], results,
                                     record["code_version"]) is not None and not missing_figures(results, record):
                    return record
            except Exception as e:  # noqa: BLE001 - a failed redraw must not lose the record's claim: it re-runs
                why = f"redrawing it from the stored measurements failed ({type(e).__name__}: {e})"
        warnings.warn(f"cache: {path.name} names figure {missing[0]}, which is missing ({why}); re-running "
                      f"{record['id']} to draw it", CacheWarning, stacklevel=3)
        return None
    return record


def run_claim(claim_id: str, scale: str, seed: int, device: str, results: str, version: str,
              source: dict[str, Any] | None = None, mapper: Callable | None = None) -> dict[str, Any]:
    """Run one claim (in this process) and write its cached record; returns the record.

    ``source``: the :func:`provenance` taken when the run started (:func:`check` passes it), so that a commit made
    while a long run is under way is not recorded as the code that ran; taken now when not given. ``mapper``: how
    the claim's shards run (:meth:`RunContext.map`; the executor's ``shard_mapper()``, e.g. Ray tasks).
    """
    import torch

    from .registry import load_claims

    load_claims()
    claim: Claim = CLAIMS.get(claim_id)
    if scale not in claim.scales:
        raise ValueError(f"scale: expected one of {sorted(claim.scales)}, got {scale!r}")
    res = Path(results)
    fig_dir = res / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    rseed = run_seed(scale, seed)
    torch.manual_seed(rseed)  # claims use explicit generators; this only pins anything that does not
    settings = dict(claim.scales[scale])
    alpha = claim_alpha(len(CLAIMS.names()))
    t0 = time.perf_counter()
    ev = claim.run(RunContext(scale, dict(settings), rseed, device, str(fig_dir), alpha, mapper=mapper,
                                counterexamples=tuple(claim.counterexamples)))
    seconds = time.perf_counter() - t0
    stored = None
    if claim.draw is not None:
        if ev.measurements is None or ev.figure is not None:
            raise ValueError(f"measurements: claim {claim.id} declares draw, so its run must return measurements and "
                             "no figure (the runner draws from the stored measurements)")
        stored = save_measurements(measurements_path(res, claim.id, scale, seed, version), ev.measurements)
        ev.figure = claim.draw(load_measurements(stored), str(fig_dir))  # from the stored copy: exactly what a redraw sees
    elif ev.measurements is not None:
        stored = save_measurements(measurements_path(res, claim.id, scale, seed, version), ev.measurements)
    protocol = apply_protocol(claim, ev, alpha)
    record = {
        "id": claim.id, "paper": claim.paper, "seed_line": claim.seed_line, "practice_source": claim.practice_source or None,
        "claim": claim.claim, "theme": claim.theme,
        "test": claim.test, "statistic": ev.statistic, "threshold": ev.threshold,
        "n_samples": ev.n_samples, "summary": ev.summary, "details": ev.details,
        "figure": None if ev.figure is None else Path(ev.figure).relative_to(res).as_posix(),  # relative to the results dir
        "measurements": None if stored is None else stored.relative_to(res).as_posix(),
        "device": device, "seconds": round(seconds, 3), "scale": scale, "seed": seed, "run_seed": rseed, "alpha": alpha,
        "code_version": version, "settings": settings, "constants": claim.constants, "unbiasedness": claim.unbiasedness,
        **(source if source is not None else provenance()), "host": platform.node(), **protocol,
    }
    validate_record(record)
    atomic_write_text(_cache_path(res, claim.id, scale, seed, version), json.dumps(record, indent=1, default=float))
    return record


def _init_worker(threads: int) -> None:
    """Process-pool initializer: pin torch's intra-op threads in a claim worker."""
    import torch

    torch.set_num_threads(threads)


def check(ids: Iterable[str] | None = None, *, scale: str = "quick", seed: int = 0, device: str = "cpu",
          results: str | Path = "results", jobs: int = 1, executor: Executor | None = None, threads=None,
          progress: Callable[[str, dict[str, Any], bool], None] | None = None,
          on_start: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Run (or load from cache) the chosen claims and rewrite the ledger files; returns the records.

    Arguments are validated before any claim runs. ``on_start(id)`` is called when a claim starts (in
    parallel runs: when its worker picks it up, as far as the executor reports it); ``progress(id,
    record, cached)`` when it finishes or is loaded from the cache. ``threads``: torch threads per claim process
    (:func:`pgtheory._perf.resolve_threads`: an int, ``"auto"``, or None for ``$PGTHEORY_THREADS`` or 1); an
    in-process run restores the caller's thread count afterwards.

    A claim that raises does not stop the others: every chosen claim is tried, the ledger is rewritten from the ones
    that finished, and then :class:`ClaimsFailed` is raised with each failure's traceback (re-running the same call
    runs only the failed claims; the finished ones come from the cache).
    """
    from .._perf import apply_threads, resolve_threads

    if jobs < 1:
        raise ValueError(f"jobs: must be >= 1, got {jobs}")
    n_threads = resolve_threads(threads, jobs=jobs)
    chosen = validate_ids(ids)
    res = Path(results)
    versions = claim_versions(chosen)  # fixed when the run starts: editing the tree during it cannot detach its records
    source = provenance()  # the tree as it is when the run starts (the code the workers import now)
    records: dict[str, dict[str, Any]] = {}
    todo = []
    for cid in chosen:
        rec = _usable_cached(res, _cache_path(res, cid, scale, seed, versions[cid]))
        if rec is None:
            todo.append(cid)
        else:
            records[cid] = rec
            if progress:
                progress(cid, rec, True)
    failures: dict[str, str] = {}
    own = executor is None and jobs > 1
    # spawn, not fork: a child forked after the parent ran OpenMP-threaded torch ops can hang in libgomp
    ex = (ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                              initargs=(n_threads,)) if own else executor)
    old_threads = apply_threads(n_threads) if ex is None and todo else None
    try:
        if ex is None:
            for cid in todo:
                if on_start:
                    on_start(cid)
                try:
                    records[cid] = run_claim(cid, scale, seed, device, str(res), versions[cid], source)
                except Exception as e:  # noqa: BLE001 - one claim's failure must not lose the others' runs
                    failures[cid] = _failure_text(e)
                    continue
                if progress:
                    progress(cid, records[cid], False)
        else:
            shards = ex.shard_mapper() if hasattr(ex, "shard_mapper") else None  # e.g. Ray: shards as tasks too
            futs = {ex.submit(run_claim, cid, scale, seed, device, str(res), versions[cid], source, shards): cid
                    for cid in todo}
            records.update(_collect(futs, progress, on_start, failures))
    finally:
        if own:
            ex.shutdown()
        if old_threads is not None:
            apply_threads(old_threads)
    write_ledger(res, scale, seed, versions)
    if failures:
        raise ClaimsFailed(failures, [records[c] for c in chosen if c in records])
    return [records[c] for c in chosen]


class ClaimsFailed(RuntimeError):
    """Raised by :func:`check` after every chosen claim was tried and the ledger rewritten, when some raised.

    ``failures``: claim id → the error's traceback text; ``records``: the records of the claims that finished (they are
    cached and in the ledger, so a re-run after a fix runs only the failed claims).
    """

    def __init__(self, failures: Mapping[str, str], records: list[dict[str, Any]]):
        self.failures = dict(failures)
        self.records = list(records)
        super().__init__(f"{len(self.failures)} claim(s) raised: {', '.join(sorted(self.failures, key=_seed_line_order))}"
                         f" ({len(self.records)} finished and are in the ledger)")


def _failure_text(e: BaseException) -> str:
    """The traceback of ``e`` as text (a worker's exception carries its remote traceback as its cause)."""
    import traceback

    return "".join(traceback.format_exception(type(e), e, e.__traceback__))


def verdict_frequencies(records_by_seed: Mapping[int, list[dict[str, Any]]]) -> dict[str, dict[str, int]]:
    """Claim id → {verdict: how many seeds gave it}, from ``{seed: records}`` (ids in seed-line order, verdicts by count)."""
    counts: dict[str, dict[str, int]] = {}
    for records in records_by_seed.values():
        for r in records:
            c = counts.setdefault(r["id"], {})
            c[r["verdict"]] = c.get(r["verdict"], 0) + 1
    return {cid: dict(sorted(counts[cid].items(), key=lambda kv: (-kv[1], kv[0])))
            for cid in sorted(counts, key=_seed_line_order)}


def validate_ids(ids: Iterable[str] | None) -> list[str]:
    """The claim ids to run (all when ``ids`` is empty), or ValueError naming the first unknown one."""
    known = {c.id for c in all_claims()}
    chosen = sorted(known) if not ids else list(ids)
    for i in chosen:
        if i not in known:
            import difflib

            close = difflib.get_close_matches(i, sorted(known), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "`pgtheory list` shows the known ids"
            raise ValueError(f"ids: unknown claim {i!r}; {hint}")
    return chosen


def _collect(futs: dict, progress: Callable | None, on_start: Callable | None,
             failures: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Wait for the futures (future → claim id), reporting starts and finishes as they happen.

    A future that raised is recorded in ``failures`` (claim id → traceback text) when given, else re-raised.
    """
    out: dict[str, dict[str, Any]] = {}
    started: set = set()
    pending = set(futs)
    while pending:
        done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
        for f in sorted(pending | done, key=lambda f: futs[f]):
            if f not in started and (f in done or f.running()):
                started.add(f)
                if on_start:
                    on_start(futs[f])
        for f in sorted(done, key=lambda f: futs[f]):
            if failures is not None and f.exception() is not None:
                failures[futs[f]] = _failure_text(f.exception())
                continue
            out[futs[f]] = f.result()
            if progress:
                progress(futs[f], out[futs[f]], False)
    return out


def load_ledger(results: str | Path) -> list[dict[str, Any]]:
    """The records of ``<results>/ledger.json``."""
    return json.loads((Path(results) / "ledger.json").read_text())


def _seed_line_order(claim_id: str) -> tuple[float, str]:
    """Sort key of claim ids: by seed line (``L<n>-...``), then by id; ids of another form go last."""
    head = str(claim_id).split("-")[0]
    return (int(head[1:]) if head[:1] == "L" and head[1:].isdigit() else float("inf"), str(claim_id))


def write_ledger(results: Path, scale: str, seed: int, versions: Mapping[str, str] | str | None = None) -> None:
    """Rewrite ledger.json / LEDGER.md / ledger_table.tex from the cached records of the current code.

    A claim's record enters the ledger when its cache key is the claim's current one: ``versions`` maps claim ids to
    the keys of a run (a run passes its own, so that editing the source during a long run cannot detach the ledger
    from the records just written); ids it does not name get their key now (:func:`claim_versions`); a single string
    is one key for every claim. A partial ``check IDS`` keeps the other claims' records whose code is unchanged.
    Records of claims no longer registered are left out. A corrupt cache file is reported and set aside (see
    :func:`load_cached`), never fatal.
    """
    results = Path(results)
    files: dict[str, list[Path]] = {}
    for p in sorted((results / "cache").glob(f"*__{scale}__s{seed}__*.json")):
        files.setdefault(p.name.split("__")[0], []).append(p)
    known = {c.id for c in all_claims()}
    present = [cid for cid in files if cid in known]
    if isinstance(versions, str):
        current = dict.fromkeys(present, versions)
    else:
        current = dict(versions or {})
        missing = [cid for cid in present if cid not in current]
        current.update(claim_versions(missing) if missing else {})
    latest: dict[str, dict[str, Any]] = {}
    for cid in present:
        p = _cache_path(results, cid, scale, seed, current[cid])
        if p.exists() or p.is_symlink():
            r = load_cached(p)
            if r is not None:
                latest[r["id"]] = r
    rows = [latest[k] for k in sorted(latest, key=_seed_line_order)]
    atomic_write_text(results / "ledger.json", json.dumps(rows, indent=1, default=float))
    atomic_write_text(results / "LEDGER.md", ledger_markdown(rows))
    atomic_write_text(results / "ledger_table.tex", ledger_latex(rows))
