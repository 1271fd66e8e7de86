"""Ingest on a Dask cluster (issue 16): the pipeline's per-file work, sent to Dask workers.

The pipeline hands its per-file work (read, normalise, store the page images, OCR) to a
:class:`concurrent.futures.Executor`; a process pool is one, :class:`DaskExecutor` is the
other. This module knows Dask; :mod:`minqing.pipeline` does not.

* **No shared file system.** The client reads each input file and sends its bytes with the
  task; the worker writes them to a private temporary folder, runs the very same
  :func:`minqing.pipeline.process_file` there (its page images go to a scratch archive
  folder), and returns the :class:`~minqing.pipeline.FileResult` together with the image
  files' bytes. The client stores those content-addressed in the real archive, then the
  pipeline carries on as with a local pool: OCR cached as each result arrives, the book
  written in one transaction by the client, the single writer.
* **Workers that die.** The scheduler re-runs a task whose worker died on another worker;
  ``distributed.scheduler.allowed-failures`` is set to 1 for a ``local:N`` cluster (and
  must be set on a remote scheduler, see docs/scaling.md), so a file whose task killed
  two workers comes back as :class:`distributed.KilledWorker`, which becomes that file's
  error (the batch goes on), like any bad input.
* **Threads.** Each worker process runs one task at a time; ONNX Runtime gets
  ``cpu_count // workers-on-the-host`` threads (``$MINQING_OCR_THREADS`` overrides), the
  same rule as the local pool.

``dask[distributed]`` is the optional extra ``cluster`` (``pip install 'minqing[cluster]'``).
"""

from __future__ import annotations

import concurrent.futures
import os
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from minqing import pipeline
from minqing.archive.store import store_blob

#: How many times a task may be on a worker that dies before it is given up (the second
#: death fails the file).
ALLOWED_FAILURES = 1


class ClusterUnavailableError(Exception):
    """Dask is not installed, or the scheduler cannot be reached."""


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - the extra is installed in the dev env
        raise ClusterUnavailableError(
            "--cluster needs Dask: pip install 'minqing[cluster]' (dask[distributed])"
        ) from exc
    return distributed


def _minqing_version() -> str:
    import minqing

    return minqing.__version__


def worker_threads() -> int:
    """ONNX Runtime threads for the OCR engine in this Dask worker process."""
    env = os.environ.get("MINQING_OCR_THREADS")
    if env:
        return max(1, int(env))
    from minqing import ocr

    try:
        from distributed import get_worker

        worker = get_worker()
        per_host = int(os.environ.get("MINQING_WORKERS_PER_HOST", "0")) or 1
        return max(1, ocr.cpu_count() // max(per_host, 1) // max(worker.state.nthreads, 1))
    except (ImportError, ValueError):  # pragma: no cover - not in a worker
        return max(1, ocr.cpu_count())


def process_file_remote(
    name: str,
    data: bytes | None,
    src: Any,
    engine: Any,
    engine_id: str,
    cached: frozenset[str],
) -> tuple[pipeline.FileResult, dict[str, bytes]]:
    """Run :func:`pipeline.process_file` on a worker from the file's bytes.

    Returns the result (paths and messages naming the client's file) and the bytes of
    every image it stored, by relative path.
    """
    if pipeline._THREADS is None:
        pipeline._init_worker(worker_threads())
    with tempfile.TemporaryDirectory(prefix="minqing-task-") as tmp:
        tmp_path = Path(tmp)
        local = tmp_path / "in" / Path(name).name
        local.parent.mkdir()
        if data is not None:
            local.write_bytes(data)
        scratch = tmp_path / "archive"
        res = pipeline.process_file(
            replace(src, path=local), str(scratch), engine, engine_id, cached
        )
        res.path = name
        if res.error:
            res.error = res.error.replace(str(local), name)
        blobs = {}
        for p in res.pages:
            for rel in (p.image, p.original):
                if rel not in blobs:
                    blobs[rel] = (scratch / rel).read_bytes()
    return res, blobs


class DaskExecutor(concurrent.futures.Executor):
    """An executor for :func:`pipeline.process_file` calls that runs them on Dask workers.

    Only ``submit(pipeline.process_file, src, archive_root, engine, engine_id, cached)``
    is supported: the call the pipeline makes. The returned future resolves once the
    result's images are stored under ``archive_root``.
    """

    def __init__(self, address: str, *, silence_logs: bool = True, timeout: str = "30s") -> None:
        distributed = _import_distributed()
        import dask

        self._distributed = distributed
        self._cluster = None
        dask.config.set(
            {
                "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                # the nanny's MALLOC_TRIM_THRESHOLD_=65536 fixes glibc's mmap threshold:
                # OCR ran 2.4x slower in such a worker (11-13 s vs 4.4-5.5 s per page,
                # same page, interleaved; docs/scaling.md)
                "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
            }
        )
        if address.startswith("local:"):
            try:
                n = int(address.split(":", 1)[1])
            except ValueError:
                raise ClusterUnavailableError(
                    f"--cluster {address}: write local:N with N workers, e.g. local:2"
                ) from None
            if n < 1:
                raise ClusterUnavailableError(f"--cluster {address}: N must be at least 1")
            os.environ.setdefault("MINQING_WORKERS_PER_HOST", str(n))
            import logging

            self._cluster = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR if silence_logs else logging.WARNING,
                env={"MINQING_WORKERS_PER_HOST": str(n)},
            )
            target: Any = self._cluster
        else:
            target = address
        try:
            self.client = distributed.Client(target, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            if self._cluster is not None:
                self._cluster.close()
            raise ClusterUnavailableError(
                f"--cluster {address}: cannot reach the scheduler ({exc}); start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`"
            ) from exc

        self._check_versions(address)

    def _check_versions(self, address: str) -> None:
        """Refuse workers that run another minqing: their pages would differ."""
        import minqing

        theirs = self.client.run(_minqing_version)
        other = {w: v for w, v in theirs.items() if v != minqing.__version__}
        if other:
            self.shutdown()
            shown = ", ".join(f"{w} has {v}" for w, v in sorted(other.items()))
            raise ClusterUnavailableError(
                f"--cluster {address}: workers run another minqing than this {minqing.__version__}"
                f" ({shown}); install the same version on every worker"
            )

    @property
    def workers(self) -> int:
        """Worker processes the scheduler knows now."""
        return len(self.client.scheduler_info(n_workers=-1)["workers"])

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future:
        """Send one :func:`pipeline.process_file` call to the cluster."""
        if fn is not pipeline.process_file or kwargs:
            raise TypeError(
                "DaskExecutor runs pipeline.process_file(src, root, engine, id, cached)"
            )
        src, archive_root, engine, engine_id, cached = args
        name = str(src.path)
        try:
            data: bytes | None = Path(name).read_bytes()
        except OSError:
            data = None  # the worker reports it as an unreadable file, as process_file does
        remote = self.client.submit(
            process_file_remote,
            name,
            data,
            src,
            engine,
            engine_id,
            cached,
            pure=False,
            key=f"minqing-file-{os.urandom(8).hex()}",
        )
        out: concurrent.futures.Future = concurrent.futures.Future()

        def done(fut: Any) -> None:
            try:
                res, blobs = fut.result()
            except self._distributed.KilledWorker:
                res, blobs = (
                    pipeline.FileResult(
                        name,
                        src.book_id,
                        "",
                        len(data or b""),
                        error=f"{name}: the OCR worker died twice on this file (killed: out of "
                        "memory or a crash); the rest of the batch goes on (check the file, "
                        "then ingest it again)",
                    ),
                    {},
                )
            except BaseException as exc:
                out.set_exception(exc)
                return
            for rel, blob in blobs.items():
                stored, _ = store_blob(archive_root, blob, Path(rel).suffix)
                if stored != rel:  # pragma: no cover - content addressing broke
                    out.set_exception(RuntimeError(f"image {rel} arrived as {stored}"))
                    return
            out.set_result(res)

        remote.add_done_callback(done)
        out._minqing_remote = remote  # type: ignore[attr-defined]  # keeps it alive
        return out

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the client (and the local cluster it started)."""
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()
