"""The registry of OCR backends, and :class:`EngineSpec`, the engine choice by value.

Engines are built by name with :func:`get_engine` so that the pipeline can build one
per worker process; an engine object loads its models once, in its constructor.
:func:`engine_id` gives the id such an engine would have without loading anything.

The built-in backends are declared here, from their modules; they import only
:mod:`minqing.ocr.base`, never this registry, so there is no import cycle. Other
backends join with :func:`register_engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from minqing.ocr import _paddle, _rapid
from minqing.ocr.base import OcrEngine, check_threads
from minqing.ocr.errors import UnknownEngineError

#: name -> factory(**params) (also given ``threads=N`` when the caller limits threads)
_REGISTRY: dict[str, Callable[..., OcrEngine]] = {
    _rapid.RapidOcrEngine.name: _rapid.RapidOcrEngine,
    _paddle.PaddleOcrEngine.name: _paddle.PaddleOcrEngine,
}
#: name -> identify(**params): the engine id without loading models
_IDENTIFY: dict[str, Callable[..., str]] = {
    _rapid.RapidOcrEngine.name: _rapid.engine_id_of,
    _paddle.PaddleOcrEngine.name: _paddle.engine_id_of,
}


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
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownEngineError(
            f"unknown OCR engine {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}"
        ) from None


@dataclass(frozen=True)
class EngineSpec:
    """Which engine, with which parameters: small, hashable and picklable, so that it
    travels to worker processes, which build the engine themselves.

    ``params`` may be given as a mapping; it is kept as sorted ``(name, value)`` pairs.

    >>> EngineSpec("rapidocr", {"pad": False}).options()
    {'pad': False}
    """

    name: str = "rapidocr"
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        items: Iterable[tuple[str, Any]] = (
            self.params.items() if isinstance(self.params, Mapping) else self.params
        )
        object.__setattr__(self, "params", tuple(sorted((str(k), v) for k, v in items)))

    def options(self) -> dict[str, Any]:
        """The parameters as keyword arguments."""
        return dict(self.params)

    def id(self) -> str:
        """The engine id (the OCR cache key's engine part), without loading models:
        :func:`engine_id` of the name and parameters.

        Raises:
            UnknownEngineError, EngineUnavailableError, ValueError: as :func:`engine_id`.
        """
        return engine_id(self.name, **self.options())

    def build(self, threads: int | None = None) -> OcrEngine:
        """The engine, models loaded; ``threads`` as in :func:`get_engine`."""
        return get_engine(self.name, threads=threads, **self.options())
