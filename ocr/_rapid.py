"""Default backend: PP-OCRv6 small (detection + recognition) via ``rapidocr`` on ONNX Runtime.

The models ship inside the rapidocr wheel; nothing is downloaded. rapidocr's angle
classifier is off (``Global.use_cls=False``): ingest already fixes page orientation.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ocr.engine import OcrEngine, register_engine
from ocr.errors import EngineUnavailableError
from ocr.normalize import normalize_text
from ocr.order import reading_order
from ocr.types import Line

_DET_MODEL = "PP-OCRv6_det_small.onnx"
_REC_MODEL = "PP-OCRv6_rec_small.onnx"

#: our parameters and their defaults
DEFAULTS: dict[str, Any] = {
    "pad": True,  # pad the image with paper colour before detection (tight line crops)
}


class RapidOcrEngine(OcrEngine):
    """PP-OCRv6 small through rapidocr, with our reading order and normalisation.

    Params:
        pad: add a paper-coloured border before detection so that tight line crops
            are detected (default True).
    """

    name = "rapidocr"

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise ValueError(
                f"unknown rapidocr engine parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}"
            )
        super().__init__(**params)
        self.options = {**DEFAULTS, **params}
        try:
            import rapidocr
            from rapidocr import RapidOCR
        except ImportError as e:
            raise EngineUnavailableError(
                f"the rapidocr engine needs the 'rapidocr' and 'onnxruntime' packages ({e}); "
                "install them with: pip install 'rapidocr>=3.10,<3.11' onnxruntime"
            ) from e
        self.version = rapidocr.__version__ if hasattr(rapidocr, "__version__") else _dist_version()
        models = Path(rapidocr.__file__).parent / "models"
        self._model_files = [models / _DET_MODEL, models / _REC_MODEL]
        missing = [p.name for p in self._model_files if not p.is_file()]
        if missing:
            raise EngineUnavailableError(
                f"the rapidocr package lacks its model files {missing} in {models}; "
                "reinstall it with: pip install --force-reinstall 'rapidocr>=3.10,<3.11'"
            )
        _silence_rapidocr()
        try:
            self._ocr = RapidOCR(
                params={
                    "Global.use_cls": False,
                    "Global.log_level": "critical",
                    "Det.model_path": str(self._model_files[0]),
                    "Rec.model_path": str(self._model_files[1]),
                }
            )
            # load both models now, once per engine object, not on the first page
            self._det = self._ocr._load_det_model()
            self._rec = self._ocr._load_rec_model()
        except Exception as e:
            raise EngineUnavailableError(
                f"could not load the PP-OCRv6 models through rapidocr ({type(e).__name__}: {e}); "
                "reinstall with: pip install --force-reinstall 'rapidocr>=3.10,<3.11' onnxruntime"
            ) from e
        _silence_rapidocr()

    def model_ids(self) -> list[str]:
        import onnxruntime

        ids = [f"{p.stem}:{p.stat().st_size}" for p in self._model_files]
        return [*ids, f"onnxruntime-{onnxruntime.__version__}"]

    def _recognize(self, image: np.ndarray) -> list[Line]:
        img = image
        off = 0
        if self.options["pad"]:
            img, off = pad_with_paper(image)
        res = self._ocr(img)
        if res.boxes is None or res.txts is None or len(res.txts) == 0:
            return []
        boxes = np.asarray(res.boxes, dtype=np.float64) - off
        h, w = image.shape[:2]
        boxes[..., 0] = boxes[..., 0].clip(0, w)
        boxes[..., 1] = boxes[..., 1].clip(0, h)
        lines = []
        for i in reading_order(list(boxes)):
            raw = res.txts[i]
            text = normalize_text(raw)
            if not text:
                continue
            conf = float(min(max(res.scores[i], 0.0), 1.0))
            lines.append(Line(text=text, box=tuple(map(tuple, boxes[i])), confidence=conf, raw_text=raw))
        return lines


def pad_with_paper(image: np.ndarray, frac: float = 0.1, min_pad: int = 16) -> tuple[np.ndarray, int]:
    """Surround ``image`` with a border of its paper colour.

    The paper colour is the median of the brightest half of the border pixels.
    Returns the padded image and the border width.
    """
    import cv2

    h, w = image.shape[:2]
    pad = max(min_pad, int(frac * min(h, w)))
    edge = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).reshape(-1, 3)
    lum = edge.astype(np.int32).sum(axis=1)
    bright = edge[lum >= np.median(lum)]
    colour = [int(c) for c in np.median(bright, axis=0)]
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=colour), pad


def _silence_rapidocr() -> None:
    logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)


def _dist_version() -> str:
    from importlib.metadata import version

    return version("rapidocr")


register_engine("rapidocr", RapidOcrEngine)
