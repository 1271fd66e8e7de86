"""The engine interface every OCR backend implements, and the helpers they share.

An engine turns one page image (HxWx3 BGR ``uint8``) into a :class:`~ocr.types.PageText`.
This module knows no backend: the backends import it, and :mod:`minqing.ocr.engine`
(the registry) imports the backends, so nothing imports in a circle.
"""

from __future__ import annotations

import abc
import os
import time
from typing import Any

import numpy as np

from minqing.ocr.errors import OcrError
from minqing.ocr.types import PageText

#: Version of our own processing around the engines (reading order, normalisation,
#: re-recognition, decoding). Bump it whenever our output for the same engine output
#: may change: it is part of every engine_id and so of the OCR cache key.
#: 4 (issues 14, 17): form pages read cell by cell, curled photos dewarped; lines carry
#: the next likeliest characters of unsure characters (``Line.alternates``), which cached
#: results of version 3 lack: they are re-read.
STAGE_VERSION = "4"


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
        # Picklable by class and parameters: a worker process rebuilds (and reloads
        # the models) itself.
        return (_rebuild, (type(self), dict(self.params), self.threads))

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


def _rebuild(cls: type[OcrEngine], params: dict[str, Any], threads: int | None) -> OcrEngine:
    if threads is None:
        return cls(**params)
    return cls(threads=threads, **params)
