"""Optional backend: PaddleOCR's pipeline on ONNX Runtime (``pip install minqing[paddle]``).

Not implemented yet; registered so that ``--engine paddleocr`` gives a clear message.
"""

from __future__ import annotations

from typing import Any

from ocr.engine import OcrEngine, register_engine
from ocr.errors import EngineUnavailableError


def _make(**params: Any) -> OcrEngine:
    raise EngineUnavailableError(
        "the paddleocr engine is not available in this version of minqing; "
        "use the default engine (--engine rapidocr)"
    )


register_engine("paddleocr", _make)
