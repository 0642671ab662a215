"""Run sweep cells on a ``dask.distributed`` cluster.

``sparsesim run <sim> --executor dask`` hands every task (one cell, or one
batch of cells for simulations with ``run_cells``) to a Dask cluster as an
independent task executed by :func:`sparsesim.sweep.runner.run_task` on a
worker.  Results stream back to the client as they finish
(``distributed.as_completed``) and the client alone writes the journal, so an
interrupted run resumes exactly like a local one.

Where the cells run
-------------------
``--scheduler tcp://host:8786``
    An existing cluster (``dask scheduler`` plus ``dask worker`` processes, or
    ``dask cuda worker`` for GPUs).  Workers must be able to import
    ``sparsesim`` (and the simulation module, and the modules a sweep names in
    ``[sim] plugins``, which every task imports first) at a compatible version.
no address, CPU backend
    A ``LocalCluster`` sized to this machine: one single-threaded worker
    process per usable core (NumPy's BLAS is kept single-threaded per worker
    by Dask's default ``OMP_NUM_THREADS=1``).  Dask's default
    ``MALLOC_TRIM_THRESHOLD_=65536`` for worker processes is *not* applied to
    the clusters started here: setting it at all switches off glibc's dynamic
    mmap threshold, so every NumPy temporary above 128 KiB is mapped and
    unmapped afresh, which made the batched MLP training of the lottery
    sweeps 3-4 times slower on a worker than in the client process.  A
    variable the user exported, or a ``--scheduler`` cluster, is left alone.
no address, ``backend`` resolving to ``cupy``
    ``dask_cuda.LocalCUDACluster`` when ``dask-cuda`` is installed: one worker
    per GPU, each seeing only its own device through ``CUDA_VISIBLE_DEVICES``.
    Without ``dask-cuda`` a single worker process drives the default GPU.

Failures
--------
A task that raises is retried by Dask (``retries``).  A worker that dies
mid-task (killed, out of memory) is replaced by its nanny and the scheduler
reschedules its tasks on the remaining workers (up to
``distributed.scheduler.allowed-failures`` times, then ``KilledWorker``).
Either way a cell reaches the journal once: the runner drops a cell key it
has already recorded.  When some tasks fail for good, the others still run
to completion and are journaled; the first failure is then re-raised.

Rounds: one Dask task per round
-------------------------------
A task that runs in rounds (an IMP run, see :mod:`sparsesim._rounds`) is
run as a chain of Dask tasks, one per round, when the runner journals rounds
(it passes ``on_round``): each is :func:`sparsesim.sweep.runner.run_task`
with ``one_round=True`` and the rounds finished so far (``task.rounds``, a
:class:`~sparsesim._rounds.RoundState`: the rounds' rows and the newest
masks and reference weights, host arrays); the worker regenerates the rest
from the seeds, computes the next round and returns it.  The client journals
it (``on_round``: the sidecar is written and ``fsync``-ed), merges it into the
state and only then submits the next round with that state inside the task
(not scattered to one worker: the scheduler keeps a task's arguments, so a
round retried after its worker died needs nothing from the dead worker).
The last task of the chain returns the cells.

Why a task per round rather than streaming rounds back from one long task:
only the client ever writes the round journal, and a round is journaled
before any later round starts, with no side channel (events carry text, not
megabytes of masks; a queue would need its own acknowledgements); a worker
that dies or a task that raises loses one round, which Dask retries from the
same state, instead of a whole IMP run; and whatever the workers do, the
state a round starts from is exactly the one the client journaled, so a
retried, duplicated or late task can never mix two runs' state.  The price
is a few milliseconds of scheduling and the shipping of the state per round
(masks are bit-packed only on disk: 276 kB per model of 276k weights in
transit, plus the dense reference weights when ``oneshot`` or ``rewind`` is
run), small beside a round's training.

Progress: status lines from inside a task (e.g. "IMP round 12/98") reach
the client's progress line as Dask events, prefixed with the task's number
("task 2/4: ...").

Rows produced here record the worker's own backend, device, package version
and git commit (stamped by ``run_task`` on the worker) and ``executor =
"dask"`` (stamped by the runner when it journals them).

Examples
--------
>>> from sparsesim.sweep.dask_executor import DaskExecutor
>>> ex = DaskExecutor(backend="numpy", n_workers=1)   # nothing starts until run()
>>> ex.name
'dask'
>>> ex.close()
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
import warnings
from typing import Any, Callable, Iterable, Iterator

try:
    import dask
    import distributed
except ImportError as _exc:  # pragma: no cover - exercised by a test that hides dask
    raise ImportError(
        "the dask executor needs dask.distributed, which is not installed "
        f"({_exc}); install it with `pip install 'sparsesim[dask]'` "
        "(or `pip install 'dask[distributed]'`)") from None

from .._validation import check_choice, check_int
from ..backend import BACKENDS, resolve_backend
from .._rounds import RoundRecord, RoundState
from .runner import Task, run_task

__all__ = ["DaskExecutor", "local_cluster", "usable_cores"]

_PRE_SPAWN = "distributed.nanny.pre-spawn-environ"


def usable_cores() -> int:
    """Number of CPU cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - platforms without affinity
        return max(1, os.cpu_count() or 1)


def local_cluster(backend: str = "numpy", *, n_workers: int | None = None) -> Any:
    """Start the local cluster ``--executor dask`` uses when given no scheduler address.

    CPU (``backend="numpy"``): a ``distributed.LocalCluster`` of ``n_workers``
    single-threaded worker processes (default: one per usable core).  CuPy:
    ``dask_cuda.LocalCUDACluster`` (one worker per GPU, or ``n_workers``), or
    one worker process driving the default GPU when ``dask-cuda`` is missing.
    Either way Dask's ``MALLOC_TRIM_THRESHOLD_`` default is left out of the
    workers' environment (see the module notes).

    Parameters
    ----------
    backend : {"numpy", "cupy"}
        A resolved backend name (not ``"auto"``).
    n_workers : int, optional
        Number of worker processes (``>= 1``).

    Returns
    -------
    distributed.LocalCluster
        Running; the caller closes it.

    Raises
    ------
    ValueError, TypeError
        For a backend other than ``"numpy"``/``"cupy"`` or a bad ``n_workers``.
    """
    backend = check_choice("backend", backend, ("numpy", "cupy"))
    if n_workers is not None:
        n_workers = check_int("n_workers", n_workers, low=1)
    common = {"threads_per_worker": 1, "dashboard_address": ":0"}
    # Nannies read their workers' environment when they are created, i.e.
    # inside the cluster's constructor.
    with dask.config.set({f"{_PRE_SPAWN}.MALLOC_TRIM_THRESHOLD_": None}):
        if backend == "cupy":  # pragma: no cover - GPU machines only
            try:
                from dask_cuda import LocalCUDACluster  # noqa: PLC0415
            except ImportError:
                # Without dask-cuda every worker would share the default GPU:
                # one worker process drives it.
                return distributed.LocalCluster(n_workers=1, processes=True, **common)
            return LocalCUDACluster(n_workers=n_workers, **common)
        return distributed.LocalCluster(n_workers=n_workers or usable_cores(),
                                        processes=True, **common)


def _run_reporting(task: Task, label: str, topic: str | None,
                   interval: float = 1.0) -> list:
    """:func:`run_task` on a worker, its status lines sent to the client as events.

    At most one line per ``interval`` seconds is sent (the latest one); a
    status line that cannot be sent never fails the task.
    """
    if topic is None:
        return run_task(task)
    worker = distributed.get_worker()
    last = [-float("inf")]

    def progress(text: str) -> None:
        now = time.monotonic()
        if now - last[0] < interval:
            return
        last[0] = now
        try:
            worker.log_event(topic, f"{label}: {text}")
        except Exception:  # noqa: BLE001 - progress is best effort
            pass

    return run_task(task, progress)


class DaskExecutor:
    """Executes sweep tasks on a ``dask.distributed`` cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``"tcp://10.0.0.5:8786"``).  Without
        one, a local cluster sized to this machine is started on first use and
        shut down by :meth:`close`.
    backend : {"auto", "numpy", "cupy"}
        The array backend the cells were asked for.  With a scheduler address
        and ``"auto"``, each worker resolves it on its own device (a CPU-only
        client can drive GPU workers).  It also picks the local cluster type.
    n_workers : int, optional
        Size of a local cluster (default: one per usable core, or one per GPU
        with ``dask-cuda``).  Ignored with a scheduler address.
    retries : int
        How often Dask re-runs a task that raised before giving up (``>= 0``).

    Attributes
    ----------
    name : str
        ``"dask"``, recorded in every row's ``executor`` column.
    client : distributed.Client or None
        The client, once :meth:`run` has started (or connected to) a cluster.

    Raises
    ------
    TypeError, ValueError
        For a malformed argument (named in the message).
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, backend: str = "auto", *,
                 n_workers: int | None = None, retries: int = 2):
        if scheduler is not None and not isinstance(scheduler, str):
            raise TypeError(f"scheduler must be an address string such as 'tcp://host:8786' "
                            f"or None; got {type(scheduler).__name__}")
        if isinstance(scheduler, str) and not scheduler.strip():
            raise ValueError("scheduler must be a non-empty address such as "
                             "'tcp://host:8786' (or None for a local cluster)")
        self.scheduler = scheduler
        self.backend = check_choice("backend", backend, BACKENDS)
        self.n_workers = None if n_workers is None else check_int("n_workers", n_workers, low=1)
        self.retries = check_int("retries", retries, low=0)
        self.client: Any = None
        self.cluster: Any = None

    # ------------------------------------------------------------------ cluster

    def _local_cluster(self) -> Any:
        return local_cluster(resolve_backend(self.backend), n_workers=self.n_workers)

    def _connect(self) -> Any:
        if self.client is not None:
            return self.client
        if self.scheduler is None:
            self.cluster = self._local_cluster()
            self.client = distributed.Client(self.cluster)
        else:
            try:
                self.client = distributed.Client(self.scheduler)
            except (OSError, TimeoutError) as exc:
                raise RuntimeError(f"cannot reach the dask scheduler at {self.scheduler!r}: "
                                   f"{exc}") from None
        return self.client

    def _task_backend(self, task: Task) -> Task:
        # On a remote cluster "auto" is decided by each worker, not by the client.
        if self.scheduler is not None and self.backend == "auto" and task.backend != "auto":
            return dataclasses.replace(task, backend="auto")
        return task

    # ------------------------------------------------------------------ running

    def run(self, tasks: Iterable[Task], progress: Callable[[str], None] | None = None,
            on_round: Callable[[int, Task, RoundRecord], None] | None = None) -> Iterator[list]:
        """Submit every task; yield each task's ``[(key, params, rows), ...]`` as it finishes.

        Results arrive in completion order, not submission order.  Closing the
        generator early (an interrupted sweep) cancels the tasks not yet done.
        With ``on_round``, a task that runs in rounds runs one Dask task per
        round (see the module notes): ``on_round(i, task, record)`` is called
        here, on the client, for every round task ``i`` finishes, before the
        next round is submitted.
        """
        tasks = [self._task_backend(t) for t in tasks]
        if on_round is not None:
            tasks = [dataclasses.replace(t, one_round=True) for t in tasks]
        if not tasks:
            return
        client = self._connect()
        workers = len(client.scheduler_info().get("workers", {}))
        if progress is not None:
            progress(f"dask: {len(tasks)} tasks on {workers} workers at "
                     f"{client.scheduler.address}")
        run_id = uuid.uuid4().hex[:8]
        topic = None
        if progress is not None:
            # Status lines from inside long tasks travel as Dask events.
            topic = f"sparsesim-progress-{run_id}"
            client.subscribe_topic(topic, lambda event: progress(str(event[1])))
        n = len(tasks)
        labels = [f"task {i + 1}/{n}" for i in range(n)]

        def key(i: int) -> str:
            t = tasks[i]
            done = t.rounds.done if t.rounds is not None else 0
            return f"sparsesim-{t.keys[0] if t.keys else i}-{run_id}-{i}-r{done}"

        def submit(i: int) -> Any:
            with warnings.catch_warnings():
                # The round state travels inside the task on purpose (see the
                # module notes): Dask's hint to scatter large arguments is moot.
                warnings.filterwarnings("ignore", message="Sending large graph",
                                        category=UserWarning)
                fut = client.submit(_run_reporting, tasks[i], labels[i], topic, key=key(i),
                                    pure=False, retries=self.retries)
            owner[fut] = i
            return fut

        owner: dict[Any, int] = {}
        # Tasks that run in rounds go depth first: at most one task per worker is
        # in flight, and a task's next round is submitted as soon as its last one
        # is journaled, so tasks (and their cells) finish one after another
        # instead of all advancing round by round and finishing together at the end.
        limit = max(1, workers) if on_round is not None else n
        waiting = list(range(n))[limit:]
        futures = [submit(i) for i in range(min(limit, n))]
        pending = set(futures)
        failures: list[tuple[Any, BaseException]] = []
        completed = distributed.as_completed(futures)
        try:
            for future in completed:
                pending.discard(future)
                i = owner.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - kept, re-raised after the rest
                    failures.append((future, exc))
                    if waiting:
                        nxt = submit(waiting.pop(0))
                        pending.add(nxt)
                        completed.add(nxt)
                    continue
                finally:
                    future.release()
                if isinstance(result, RoundRecord):
                    task = tasks[i]
                    if on_round is None:  # pragma: no cover - one_round is set only with it
                        raise RuntimeError("a task returned a round without a round journal")
                    on_round(i, task, result)            # journaled before anything goes on
                    state = task.rounds or RoundState(result.backend)
                    tasks[i] = dataclasses.replace(task, rounds=state.extend(result))
                    nxt = submit(i)
                    pending.add(nxt)
                    completed.add(nxt)
                    continue
                if waiting:
                    nxt = submit(waiting.pop(0))
                    pending.add(nxt)
                    completed.add(nxt)
                yield result
        finally:
            if pending:
                client.cancel(list(pending))
            if topic is not None:
                client.unsubscribe_topic(topic)
        if failures:
            _, first = failures[0]
            first.add_note(f"{len(failures)} of {len(tasks)} dask tasks failed after "
                           f"{self.retries} retries; every other cell is in the journal, "
                           "so re-running the same command retries only the failed ones")
            raise first

    def close(self) -> None:
        """Close the client, and the local cluster if this executor started it."""
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def __enter__(self) -> "DaskExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.scheduler or "local cluster"
        return f"DaskExecutor(scheduler={where!r}, backend={self.backend!r})"
