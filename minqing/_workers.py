"""Worker processes for ingest: they die with their parent, and one crash fails one file.

Two faults of a plain ``ProcessPoolExecutor`` are handled here (issue 12, items 16, 20):

- **Orphans.** Workers block reading the executor's call queue, whose write end they
  hold themselves, so when the main process is killed (``kill -9``, SIGTERM, the
  OOM killer) they never see end-of-file and live on, each holding its models' memory.
  Every worker therefore watches a pipe whose only write end the main process holds:
  the kernel closes it when the main process dies, however it dies, and the worker
  exits at once. On Linux the worker also asks for SIGKILL when its parent (the
  forkserver) dies.
- **One crash breaks the batch.** A worker killed while reading one file (out of
  memory on a huge page, a crash in a decoder) makes every pending future raise
  ``BrokenProcessPool``. :meth:`WorkerPool.map` starts a fresh pool and runs the
  files that were in flight again one at a time, so the file that kills a worker on
  its own is reported as :class:`WorkerCrash` and every other file is read.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1


class WorkerCrash(Exception):
    """The worker process died while it worked on this item, also when given it alone."""


def _die_with_parent(watch: Connection) -> None:
    """Exit this worker as soon as the main process is gone (runs in a daemon thread)."""
    with contextlib.suppress(EOFError, OSError):
        watch.recv_bytes()  # nothing is ever sent: returns only at end-of-file
    os._exit(128 + signal.SIGTERM)


def _init_worker(watch: Connection, init: Callable[..., None] | None, args: tuple) -> None:
    if sys.platform.startswith("linux"):
        # the forkserver is the parent: die with it too (no prctl in this libc: nothing)
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    threading.Thread(target=_die_with_parent, args=(watch,), daemon=True).start()
    # Ctrl-C reaches the whole process group: let the main process decide, and have
    # the workers stop through the pipe above rather than with a traceback each
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if init is not None:
        init(*args)


class WorkerPool:
    """A process pool whose workers die with this process; see the module docstring.

    Args:
        workers: number of processes.
        initializer: called with ``initargs`` in each worker at start-up.
    """

    def __init__(
        self, workers: int, initializer: Callable[..., None] | None = None, initargs: tuple = ()
    ) -> None:
        self.workers = workers
        self._initializer = initializer
        self._initargs = initargs
        method = "forkserver" if os.name != "nt" else "spawn"
        self._ctx = multiprocessing.get_context(method)
        # the main process holds the only write end; workers get the read end
        self._watch_r, self._watch_w = self._ctx.Pipe(duplex=False)
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=self._ctx,
                initializer=_init_worker,
                initargs=(self._watch_r, self._initializer, self._initargs),
            )
        return self._pool

    def _restart(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(
        self, fn: Callable[..., T], items: Sequence[Any], *args: Any
    ) -> Iterator[tuple[Any, T | WorkerCrash]]:
        """Run ``fn(item, *args)`` for every item; yield ``(item, result)`` as they finish.

        ``result`` is a :class:`WorkerCrash` for an item whose worker died even when
        it ran alone. Exceptions ``fn`` raises are re-raised here (``fn`` should
        return its failures instead).
        """
        todo = list(items)
        while todo:
            futures = [(item, self._executor().submit(fn, item, *args)) for item in todo]
            todo = []
            broken: list[Any] = []
            for item, fut in futures:
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    broken.append(item)
                    continue
                yield item, result
            if not broken:
                return
            self._restart()
            # the items that may have been in flight when the pool broke (the executor
            # hands out at most 2 per worker plus one) run alone, in order, until one
            # is found to kill a worker by itself; the rest go back to the pool
            suspects, todo = broken[: 2 * self.workers + 1], broken[2 * self.workers + 1 :]
            for n, item in enumerate(suspects):
                fut2: Future = self._executor().submit(fn, item, *args)
                try:
                    yield item, fut2.result()
                except BrokenProcessPool:
                    self._restart()
                    yield (
                        item,
                        WorkerCrash(
                            "the worker process reading it died "
                            "(out of memory, or a crash in a decoder)"
                        ),
                    )
                    todo = suspects[n + 1 :] + todo
                    break

    def shutdown(self, kill: bool = False) -> None:
        """Stop the workers (pending work is cancelled) and close the watch pipe.

        ``kill``: do not wait for the work in progress (Ctrl-C, an error): closing the
        watch pipe makes every worker exit at once.
        """
        try:
            if kill:
                self._watch_w.close()
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
        finally:
            self._watch_w.close()
            self._watch_r.close()
