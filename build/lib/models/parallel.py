"""How training and evaluation use the machine's cores: deliberately.

**Training** runs every numerical kernel on one thread (OpenMP in scikit-learn's trees
and k-means, BLAS in the linear models), in this process and in its workers. A kernel's
result can depend on how its sums are split between threads, so only then does the same
data with the same seed give the same model whatever the thread count. The cores are used
one level up: independent work (units' features, search candidates × folds, the risk
model's full and out-of-fold fits) runs side by side in ``threads`` worker processes.
Those do not spin while they wait, so the default is every core this process may use: on
a busy 2-core machine two workers still finished sooner than one (``bench/train_busy.py``).

**Evaluation and scoring** only predict; their kernels are limited to ``threads``,
by default the free cores (``default_threads``): the cores this process may use less the
one-minute load average, at least one. A tree ensemble's OpenMP threads spin while they
wait for each other, so more of them than free cores stall it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_info, threadpool_limits

from .progress import Progress


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """The cores free right now: those this process may use less the 1-minute load."""
    cores = available_cores()
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(cores, round(cores - busy)))


def kernel_threads() -> int:
    """The most threads any OpenMP or BLAS library of this process would use now."""
    return max((lib["num_threads"] for lib in threadpool_info()), default=1)


@contextmanager
def limit_threads(threads: int) -> Iterator[None]:
    """Numerical kernels of this process use at most ``threads`` threads inside."""
    with threadpool_limits(limits=max(1, threads)):
        yield


def _single_threaded(fn: Callable[..., Any], args: tuple) -> tuple[Any, int]:
    with limit_threads(1):
        return fn(*args), kernel_threads()


def run_tasks(fn: Callable[..., Any], tasks: Sequence[tuple], threads: int,
              progress: Progress | None = None, seen: set[int] | None = None) -> list[Any]:
    """``[fn(*t) for t in tasks]``, each on one kernel thread, ``threads`` at a time.

    ``fn`` must be a module-level function (workers are processes). Results keep the
    order of ``tasks``. ``seen`` collects the kernel thread counts each task ran with.
    """
    workers = max(1, min(threads, len(tasks)))
    if workers == 1:
        runs: Any = (_single_threaded(fn, t) for t in tasks)
        return _collect(runs, progress, seen)
    with parallel_config(backend="loky", inner_max_num_threads=1):
        runs = Parallel(n_jobs=workers, return_as="generator")(
            delayed(_single_threaded)(fn, t) for t in tasks)
        return _collect(runs, progress, seen)


def _collect(runs, progress: Progress | None, seen: set[int] | None) -> list[Any]:
    out = []
    for result, threads in runs:
        out.append(result)
        if seen is not None:
            seen.add(threads)
        if progress is not None:
            progress.step()
    return out
