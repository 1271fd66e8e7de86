"""minqing stage: ocr. Page images in, recognised lines in reading order out.

from minqing.ocr import EngineSpec, get_engine
engine = get_engine("rapidocr")
page_text = engine.recognize(image)   # HxWx3 BGR uint8 -> PageText
engine_id("rapidocr")                 # == engine.engine_id, without loading models
get_engine("rapidocr", threads=1)     # one inference thread (not part of engine_id)
spec = EngineSpec("rapidocr", {"pad": False})   # the choice by value (picklable)
spec.id(), spec.build(threads=1)      # == engine_id("rapidocr", pad=False), get_engine(...)
"""

from minqing.ocr.base import STAGE_VERSION, OcrEngine, cpu_count
from minqing.ocr.engine import (
    EngineSpec,
    available_engines,
    engine_id,
    get_engine,
    register_engine,
)
from minqing.ocr.errors import EngineUnavailableError, OcrError, UnknownEngineError
from minqing.ocr.types import Line, PageText

__all__ = [
    "STAGE_VERSION",
    "EngineSpec",
    "EngineUnavailableError",
    "Line",
    "OcrEngine",
    "OcrError",
    "PageText",
    "UnknownEngineError",
    "available_engines",
    "cpu_count",
    "engine_id",
    "get_engine",
    "register_engine",
]
