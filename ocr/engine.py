"""The engine interface and the registry of OCR backends.

An engine turns one page image (HxWx3 BGR ``uint8``) into a :class:`~ocr.types.PageText`.
Engines are built by name with :func:`get_engine` so that the pipeline can build one
per worker process; an engine object loads its models once, in its constructor.
:func:`engine_id` gives the id such an engine would have without loading anything.
"""

from __future__ import annotations

import abc
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from minqing.ocr.errors import OcrError, UnknownEngineError
from minqing.ocr.types import PageText

#: Version of our own processing around the engines (reading order, normalisation,
#: re-recognition, decoding). Bump it whenever our output for the same engine output
#: may change: it is part of every engine_id and so of the OCR cache key.
STAGE_VERSION = "3"


class OcrEngine(abc.ABC):
    """An OCR backend.

    Attributes:
        name: registry name (``"rapidocr"``).
        version: the backend package version.
        params: the keyword parameters the engine was built with.
    """

    name: str = ""
    version: str = ""

    def __init__(self, *, threads: int | None = None, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)
        #: CPU threads the engine's inference may use (None: the runtime's default);
        #: not a parameter: it does not change the output, so it is not in engine_id
        self.threads: int | None = check_threads(threads)

    @property
    def engine_id(self) -> str:
        """Identifies everything that can change the output for a given image.

        Name, backend and model versions, :data:`STAGE_VERSION` and the parameters;
        the OCR cache key is ``(page sha256, engine_id)``.
        """
        return format_engine_id(self.name, self.version, self.model_ids(), self.params)

    def model_ids(self) -> list[str]:
        """Model identifiers (file names and sizes, versions) for :attr:`engine_id`."""
        return []

    def recognize(self, image: np.ndarray) -> PageText:
        """Recognise the text lines of ``image`` (HxWx3 BGR uint8), in reading order.

        Raises:
            OcrError: the image is not a usable array or the engine failed on it.
        """
        check_image(image)
        start = time.perf_counter()
        try:
            lines = self._recognize(image)
        except OcrError:
            raise
        except Exception as e:  # engine internals: turn any crash into our error
            raise OcrError(
                f"the {self.name} engine failed on this image ({type(e).__name__}: {e}); "
                "check that the image is a readable page scan, or try another engine with --engine"
            ) from e
        h, w = image.shape[:2]
        return PageText(
            lines=tuple(lines),
            engine_id=self.engine_id,
            width=w,
            height=h,
            seconds=time.perf_counter() - start,
        )

    @abc.abstractmethod
    def _recognize(self, image: np.ndarray) -> list:
        """Return the page's :class:`~ocr.types.Line` objects in reading order."""

    def __reduce__(self):
        # Picklable by name: a worker process rebuilds (and reloads models) itself.
        return (_rebuild, (self.name, dict(self.params), self.threads))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.engine_id}>"


def format_engine_id(name: str, version: str, model_ids: list[str], params: dict[str, Any]) -> str:
    """The engine id string: ``name-version/model ids.../stage-N/k=v,...``.

    Shared by :attr:`OcrEngine.engine_id` and the backends' cheap id functions, so
    that both spell the same engine the same way.
    """
    parts = [f"{name}-{version}", *model_ids, f"stage-{STAGE_VERSION}"]
    if params:
        parts.append(",".join(f"{k}={params[k]!r}" for k in sorted(params)))
    return "/".join(parts)


def check_threads(threads: Any) -> int | None:
    """``threads`` as a thread count (at most the machine's cores), or None.

    Raises:
        ValueError: not None and not a positive integer.
    """
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    return min(threads, cpu_count())


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_image(image: Any) -> None:
    """Raise :class:`OcrError` unless ``image`` is an HxWx3 uint8 array."""
    if not isinstance(image, np.ndarray):
        raise OcrError(
            f"expected an image array, got {type(image).__name__}; decode the file first"
        )
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise OcrError(
            f"expected an HxWx3 BGR uint8 image, got shape {image.shape} dtype {image.dtype}; "
            "convert it to 3-channel 8-bit first"
        )
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise OcrError(
            f"image is too small to read ({image.shape[1]}x{image.shape[0]} px); rescan it"
        )


_REGISTRY: dict[str, Callable[..., OcrEngine]] = {}
_IDENTIFY: dict[str, Callable[..., str]] = {}


def register_engine(
    name: str, factory: Callable[..., OcrEngine], identify: Callable[..., str] | None = None
) -> None:
    """Register an engine factory under ``name`` (factories raise EngineUnavailableError).

    ``factory(**params)`` builds the engine; it also receives ``threads=N`` when the
    caller limits threads. ``identify(**params)``, when given, returns the engine id
    that ``factory(**params).engine_id`` would, without loading models; it raises the
    same errors as the factory for bad parameters or a missing package.
    """
    _REGISTRY[name] = factory
    if identify is None:
        _IDENTIFY.pop(name, None)
    else:
        _IDENTIFY[name] = identify


def available_engines() -> list[str]:
    """Names of the registered engines (their packages may still be missing)."""
    _load_builtin()
    return sorted(_REGISTRY)


def get_engine(name: str = "rapidocr", threads: int | None = None, **params: Any) -> OcrEngine:
    """Build the engine registered as ``name`` with ``params``; loads its models.

    ``threads`` limits the CPU threads of the engine's inference (ONNX Runtime
    intra-op threads, and OpenCV's thread pool, which is process-wide); None leaves the
    runtime's defaults (every core). It is not part of :attr:`OcrEngine.engine_id`.
    A pipeline running W worker processes on C cores passes ``max(1, C // W)``.

    Raises:
        UnknownEngineError: no engine of that name.
        EngineUnavailableError: the engine's package or model files are missing.
        ValueError: an unknown or invalid parameter.
    """
    factory = _factory(name)
    threads = check_threads(threads)
    if threads is None:
        return factory(**params)
    return factory(threads=threads, **params)


def engine_id(name: str = "rapidocr", **params: Any) -> str:
    """The :attr:`OcrEngine.engine_id` that ``get_engine(name, **params)`` would have.

    Loads no models and creates no inference sessions where the backend registered an
    id function (both built-in backends do); otherwise builds the engine. ``threads``
    is accepted and ignored, as it does not change the output.

    Raises:
        UnknownEngineError: no engine of that name.
        EngineUnavailableError: the engine's package or model files are missing.
        ValueError: an unknown or invalid parameter.
    """
    factory = _factory(name)
    check_threads(params.pop("threads", None))
    identify = _IDENTIFY.get(name)
    if identify is None:
        return factory(**params).engine_id
    return identify(**params)


def _factory(name: str) -> Callable[..., OcrEngine]:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownEngineError(
            f"unknown OCR engine {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}"
        ) from None


def _rebuild(name: str, params: dict[str, Any], threads: int | None = None) -> OcrEngine:
    return get_engine(name, threads=threads, **params)


def _load_builtin() -> None:
    # importing a backend module registers it; repeated imports are free
    from minqing.ocr import _paddle, _rapid  # noqa: F401
