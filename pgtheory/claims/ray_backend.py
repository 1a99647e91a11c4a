r"""Ray as a distributed backend for the claim runner (issue 16; optional: ``pip install -e ".[ray]"``).

:class:`RayExecutor` is a :class:`concurrent.futures.Executor` whose ``submit`` runs the function as a Ray task (one
CPU each, torch pinned to the runner's thread count) and returns the task's :class:`~concurrent.futures.Future`, so
:func:`~pgtheory.claims.runner.check` schedules claims on a Ray cluster exactly as on the local process pool. Records
are identical to a local run's (each claim derives every random number from its run seed), except the fields that
describe where and how long it ran (``seconds``, ``host``).

Without ``address`` a local Ray instance is started (``num_cpus`` CPUs, default all) and shut down on ``shutdown()``;
with ``address`` (``"auto"`` or ``"ray://host:10001"``) the executor connects to an existing cluster and leaves it
running. A claim's independent shards (:meth:`~pgtheory.claims.record.RunContext.map`: instances, seeds, sweep points)
run as nested Ray tasks (:class:`RayShardMapper`), so one long claim spreads over the cluster. Workers import pgtheory from their own environment: on a cluster, install the same commit on every node
(or pass ``runtime_env={"working_dir": ...}``).
"""
from __future__ import annotations

from concurrent.futures import Executor, Future
from typing import Any, Callable

__all__ = ["RayExecutor", "RayShardMapper", "ray_available"]


def ray_available() -> bool:
    """Whether Ray can be imported (the optional extra is installed)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _pinned(threads: int, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    import torch

    torch.set_num_threads(threads)
    return fn(*args, **kwargs)


class RayShardMapper:
    """Runs a claim's shards (:meth:`~pgtheory.claims.record.RunContext.map`) as Ray tasks, one CPU each, results in
    order. Picklable: it is created by the driver and called inside the claim's own Ray task (a nested task; Ray
    lends the waiting claim task's CPU to its shards)."""

    def __init__(self, threads: int = 1):
        self.threads = int(threads)

    def __call__(self, fn: Callable, items: list) -> list:
        import ray

        task = ray.remote(num_cpus=1)(_pinned)
        return ray.get([task.remote(self.threads, fn, x) for x in items])


class RayExecutor(Executor):
    """Run submitted functions as Ray tasks (see the module docstring).

    ``address``: an existing cluster to connect to (None: start a local instance with ``num_cpus`` CPUs).
    ``threads``: torch threads inside each task (the runner's per-claim setting). ``runtime_env``: passed to
    ``ray.init`` (e.g. a ``working_dir`` to ship this checkout to a cluster's workers).
    """

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None, threads: int = 1,
                 runtime_env: dict | None = None):
        try:
            import ray
        except ImportError as e:
            raise ImportError("backend: Ray is not installed; pip install -e '.[ray]' (or pip install ray)") from e
        if address is not None and num_cpus is not None:
            raise ValueError("num_cpus: applies to a local Ray instance only, not to an existing cluster (address)")
        self._ray = ray
        self._owns = address is None and not ray.is_initialized()
        if not ray.is_initialized():
            ray.init(address=address, num_cpus=num_cpus, runtime_env=runtime_env, include_dashboard=False,
                     log_to_driver=False, logging_level="ERROR")
        self._task = ray.remote(num_cpus=1)(_pinned)
        self._threads = int(threads)

    def shard_mapper(self) -> RayShardMapper:
        """What :func:`~pgtheory.claims.runner.check` passes to each claim so that its shards run as Ray tasks too."""
        return RayShardMapper(self._threads)

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        return self._task.remote(self._threads, fn, *args, **kwargs).future()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
            self._owns = False
