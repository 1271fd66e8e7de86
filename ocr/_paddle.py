"""Optional backend: PaddleOCR's own pipeline on ONNX Runtime (``pip install 'minqing[paddle]'``).

The ``paddleocr`` package (through PaddleX) runs detection and recognition with
``engine="onnxruntime"``: no paddlepaddle, no download. Its model directories are
built at first use from the PP-OCRv6 small ONNX files that ship in the rapidocr
wheel (the default backend's models), each directory holding ``inference.onnx`` and
the ``inference.yml`` PaddleX reads (pre/post-processing, and for recognition the
character dictionary embedded in the ONNX file). They live in the cache folder
``$MINQING_CACHE/paddle-models/`` (default ``~/.cache/minqing/paddle-models/``),
written atomically. PaddleX's model-hoster check and its home-folder cache are
redirected before it is imported, so nothing contacts the network.

Same reading order and normalisation as the default backend; no LM re-decoding or
low-confidence rescue (PaddleOCR does not expose the recognition probabilities).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from minqing.ocr.base import OcrEngine, format_engine_id
from minqing.ocr.errors import EngineUnavailableError
from minqing.ocr.normalize import normalize_text
from minqing.ocr.order import reading_order
from minqing.ocr.types import Line
from minqing.paths import cache_dir

PIP = "pip install 'minqing[paddle]'  (that is: pip install 'paddleocr>=3.7,<3.8')"

#: our parameters and their defaults (every one is part of engine_id)
DEFAULTS: dict[str, Any] = {
    # paper-coloured border before detection, as in the default backend
    "pad": True,
}

#: lines below this confidence are dropped (as the default backend does)
TEXT_SCORE = 0.5

#: detection settings: the default backend's (rapidocr 3.10 ``Det`` section), so that
#: both backends find the same lines; PaddleOCR's own defaults differ (no downscaling
#: limit of 736 px, box_thresh 0.6, unclip_ratio 1.5). Part of engine_id via _PIPELINE.
DET_SETTINGS: dict[str, Any] = {
    "text_det_limit_side_len": 736,
    "text_det_limit_type": "min",
    "text_det_thresh": 0.3,
    "text_det_box_thresh": 0.5,
    "text_det_unclip_ratio": 1.6,
}
#: version of how we call PaddleOCR (DET_SETTINGS, thresholds); in engine_id
_PIPELINE = 1

#: PaddleX model names of the ONNX files in the rapidocr wheel
DET_NAME = "PP-OCRv6_small_det"
REC_NAME = "PP-OCRv6_small_rec"

#: version of the model folders we build (the inference.yml below); part of their key
_LAYOUT = 1

# What PaddleX's own converter writes for these models (paddlex 3.7,
# modules/base/utils/pdparams2safetensors/inference_meta.py), minus the TensorRT hints.
_DET_YML: dict[str, Any] = {
    "Global": {"model_name": DET_NAME},
    "PreProcess": {
        "transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
            {"DetLabelEncode": None},
            {"DetResizeForTest": {"resize_long": 960}},
            {
                "NormalizeImage": {
                    "mean": [0.485, 0.456, 0.406],
                    "std": [0.229, 0.224, 0.225],
                    "scale": "1./255.",
                    "order": "hwc",
                }
            },
            {"ToCHWImage": None},
            {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
        ]
    },
    "PostProcess": {
        "name": "DBPostProcess",
        "thresh": 0.3,
        "box_thresh": 0.6,
        "max_candidates": 1000,
        "unclip_ratio": 1.5,
    },
}
_REC_YML: dict[str, Any] = {
    "Global": {"model_name": REC_NAME},
    "PreProcess": {
        "transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
            {"MultiLabelEncode": {"gtc_encode": "NRTRLabelEncode"}},
            {"RecResizeImg": {"image_shape": [3, 48, 320]}},
            {
                "KeepKeys": {
                    "keep_keys": ["image", "label_ctc", "label_gtc", "length", "valid_ratio"]
                }
            },
        ]
    },
    # character_dict: added from the ONNX file's metadata when the folder is built
    "PostProcess": {"name": "CTCLabelDecode"},
}


class PaddleOcrEngine(OcrEngine):
    """PP-OCRv6 small through PaddleOCR's pipeline on ONNX Runtime.

    Params:
        pad: paper-coloured border before detection (default True).
    """

    name = "paddleocr"

    def __init__(self, *, threads: int | None = None, **params: Any) -> None:
        super().__init__(threads=threads, **check_options(params))
        self.options = self.params
        self.version = _dist_version("paddleocr")
        from minqing.ocr._rapid import limit_opencv_threads, model_files

        self._model_files = model_files()
        det_dir, rec_dir = model_dirs(self._model_files)
        _prepare_paddlex_env()
        try:
            from paddleocr import PaddleOCR
        except ImportError as e:
            raise _unavailable(e) from e
        _silence_paddlex()
        config: dict[str, Any] = {}
        if self.threads is not None:
            config = {"intra_op_num_threads": self.threads, "inter_op_num_threads": 1}
            limit_opencv_threads(self.threads)
        try:
            self._ocr = PaddleOCR(
                text_detection_model_name=DET_NAME,
                text_detection_model_dir=str(det_dir),
                text_recognition_model_name=REC_NAME,
                text_recognition_model_dir=str(rec_dir),
                use_doc_orientation_classify=False,  # ingest fixes orientation
                use_doc_unwarping=False,
                use_textline_orientation=False,
                text_rec_score_thresh=0.0,  # we drop weak lines ourselves, as rapidocr does
                **DET_SETTINGS,
                engine="onnxruntime",
                engine_config=config or None,
                device="cpu",
            )
        except Exception as e:
            raise EngineUnavailableError(
                f"could not load the PP-OCRv6 models through paddleocr ({type(e).__name__}: {e}); "
                f"delete the model folders in {det_dir.parent} and retry, or reinstall: {PIP}"
            ) from e
        _silence_paddlex()

    def model_ids(self) -> list[str]:
        return _model_ids(self._model_files)

    def _recognize(self, image: np.ndarray) -> list[Line]:
        from minqing.ocr._rapid import pad_for_detection

        img, off = pad_for_detection(image) if self.options["pad"] else (image, 0)
        results = list(self._ocr.predict(np.ascontiguousarray(img)))
        if not results:
            return []
        res = results[0]
        texts = list(res["rec_texts"])
        if not texts:
            return []
        scores = [float(s) for s in res["rec_scores"]]
        h, w = image.shape[:2]
        boxes = []
        for poly in res["rec_polys"]:
            b = np.asarray(poly, dtype=np.float64).reshape(-1, 2) - off
            b[:, 0] = b[:, 0].clip(0, w)
            b[:, 1] = b[:, 1].clip(0, h)
            boxes.append(b)
        lines = []
        for i in reading_order(boxes):
            raw, conf = texts[i], scores[i]
            if conf < TEXT_SCORE or not raw.strip():
                continue
            lines.append(
                Line(
                    text=normalize_text(raw),
                    box=tuple(map(tuple, boxes[i])),
                    confidence=min(max(conf, 0.0), 1.0),
                    raw_text=raw,
                )
            )
        return lines


def check_options(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked and completed with :data:`DEFAULTS`.

    Raises:
        ValueError: an unknown parameter.
    """
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown paddleocr engine parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    return {**DEFAULTS, **params}


def engine_id_of(**params: Any) -> str:
    """``PaddleOcrEngine(**params).engine_id`` without importing paddleocr or loading models."""
    options = check_options(params)
    from minqing.ocr._rapid import model_files

    version = _dist_version("paddleocr")
    return format_engine_id(PaddleOcrEngine.name, version, _model_ids(model_files()), options)


def _model_ids(files: list[Path]) -> list[str]:
    try:
        import onnxruntime  # its version may come from its build info: import, no session
    except ImportError as e:
        raise _unavailable(e) from e
    ids = [f"{p.stem}:{p.stat().st_size}" for p in files]
    ids.append(f"paddlex-{_dist_version('paddlex')}")
    ids.append(f"call-v{_PIPELINE}")
    ids.append(f"onnxruntime-{onnxruntime.__version__}")
    return ids


# -- model folders -----------------------------------------------------------------------


def model_dirs(files: list[Path]) -> tuple[Path, Path]:
    """The PaddleX model folders for the detection and recognition ONNX ``files``.

    Built at first use under :func:`cache_dir` ``/paddle-models/<key>/{det,rec}``; the
    key changes with the ONNX files (path, size, mtime) and our folder layout, so a
    reinstalled rapidocr gets fresh folders. A folder is built under a temporary name
    and renamed into place, so a crash or a concurrent build never leaves a half-built
    one.

    Raises:
        EngineUnavailableError: the cache folder cannot be written.
    """
    h = hashlib.sha256(f"layout-{_LAYOUT}".encode())
    for p in files:
        st = p.stat()
        h.update(f"|{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    root = cache_dir() / "paddle-models" / f"ppocrv6-small-{h.hexdigest()[:16]}"
    final = root / "models"
    if (final / "det" / "inference.yml").is_file() and (final / "rec" / "inference.yml").is_file():
        return final / "det", final / "rec"
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
        try:
            _write_model_dir(tmp / "det", files[0], _DET_YML)
            rec_yml = {**_REC_YML, "PostProcess": dict(_REC_YML["PostProcess"])}
            rec_yml["PostProcess"]["character_dict"] = _onnx_characters(files[1])
            _write_model_dir(tmp / "rec", files[1], rec_yml)
            try:
                tmp.rename(final)
            except OSError:
                if not (final / "rec" / "inference.yml").is_file():
                    raise
                # another process built it first: use theirs
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as e:
        raise EngineUnavailableError(
            f"cannot build the paddleocr model folders in {root} ({e}); "
            "set MINQING_CACHE to a writable folder"
        ) from e
    return final / "det", final / "rec"


def _write_model_dir(folder: Path, onnx: Path, yml: dict[str, Any]) -> None:
    import yaml

    folder.mkdir()
    target = folder / "inference.onnx"
    try:
        target.symlink_to(onnx.resolve())
    except OSError:  # no symlinks here (Windows without the privilege): copy
        shutil.copyfile(onnx, target)
    text = yaml.safe_dump(yml, allow_unicode=True, sort_keys=False)
    (folder / "inference.yml").write_text(text, encoding="utf-8")


def _onnx_characters(rec_model: Path) -> list[str]:
    """The recognition model's character list, embedded in the ONNX file (as rapidocr reads it)."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.log_severity_level = 4
    opts.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(rec_model), sess_options=opts, providers=["CPUExecutionProvider"]
    )
    text = session.get_modelmeta().custom_metadata_map.get("character", "")
    chars = text.splitlines()
    if not chars:
        raise EngineUnavailableError(
            f"the recognition model {rec_model} carries no character list; "
            "reinstall it with: pip install --force-reinstall 'rapidocr>=3.10,<3.11'"
        )
    return chars


# -- PaddleX set-up ------------------------------------------------------------------------


def _prepare_paddlex_env() -> None:
    """Before paddlex is imported: no model-hoster check, its cache in ours, quiet."""
    os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
    os.environ.setdefault("PADDLE_PDX_CACHE_HOME", str(cache_dir() / "paddlex"))


def _silence_paddlex() -> None:
    for name in ("paddlex", "paddleocr"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _dist_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError as e:
        raise _unavailable(e) from e


def _unavailable(e: BaseException) -> EngineUnavailableError:
    return EngineUnavailableError(
        f"the paddleocr engine needs the optional 'paddleocr' package ({e}); "
        f"install it with: {PIP}, or use the default engine (--engine rapidocr)"
    )


def is_installed() -> bool:
    """True when the ``paddleocr`` package can be imported (without importing it)."""
    return importlib.util.find_spec("paddleocr") is not None
