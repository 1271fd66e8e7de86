"""The engine interface and the registry of OCR backends.

An engine turns one page image (HxWx3 BGR ``uint8``) into a :class:`~ocr.types.PageText`.
Engines are built by name with :func:`get_engine` so that the pipeline can build one
per worker process; an engine object loads its models once, in its constructor.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ocr.errors import OcrError, UnknownEngineError
from ocr.types import PageText

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

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)

    @property
    def engine_id(self) -> str:
        """Identifies everything that can change the output for a given image.

        Name, backend and model versions, :data:`STAGE_VERSION` and the parameters;
        the OCR cache key is ``(page sha256, engine_id)``.
        """
        parts = [f"{self.name}-{self.version}", *self.model_ids(), f"stage-{STAGE_VERSION}"]
        if self.params:
            parts.append(",".join(f"{k}={self.params[k]!r}" for k in sorted(self.params)))
        return "/".join(parts)

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

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Picklable by name: a worker process rebuilds (and reloads models) itself.
        return (_rebuild, (self.name, dict(self.params)))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.engine_id}>"


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


def register_engine(name: str, factory: Callable[..., OcrEngine]) -> None:
    """Register an engine factory under ``name`` (factories raise EngineUnavailableError)."""
    _REGISTRY[name] = factory


def available_engines() -> list[str]:
    """Names of the registered engines (their packages may still be missing)."""
    _load_builtin()
    return sorted(_REGISTRY)


def get_engine(name: str = "rapidocr", **params: Any) -> OcrEngine:
    """Build the engine registered as ``name`` with ``params``; loads its models.

    Raises:
        UnknownEngineError: no engine of that name.
        EngineUnavailableError: the engine's package or model files are missing.
    """
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise UnknownEngineError(
            f"unknown OCR engine {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}"
        ) from None
    return factory(**params)


def _rebuild(name: str, params: dict[str, Any]) -> OcrEngine:
    return get_engine(name, **params)


def _load_builtin() -> None:
    # importing a backend module registers it; repeated imports are free
    from ocr import _paddle, _rapid  # noqa: F401
