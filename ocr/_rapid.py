"""Default backend: PP-OCRv6 small (detection + recognition) via ``rapidocr`` on ONNX Runtime.

The models ship inside the rapidocr wheel; nothing is downloaded. rapidocr's angle
classifier is off (``Global.use_cls=False``): ingest already fixes page orientation.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from minqing.ocr._ctc import (
    Decoded,
    beam_decode,
    greedy_decode,
    is_uncertain,
    substitute_decode,
    with_alternates,
)
from minqing.ocr.base import OcrEngine, format_engine_id
from minqing.ocr.errors import EngineUnavailableError
from minqing.ocr.forms import (
    cells_hold_text,
    find_cells,
    is_character_grid,
    order_by_cells,
    remove_grid,
    vertical_strip,
)
from minqing.ocr.normalize import normalize_text, to_simplified
from minqing.ocr.order import estimate_skew, reading_order
from minqing.ocr.types import Line
from minqing.paths import rapidocr_models_dir

if TYPE_CHECKING:  # loaded on first use
    from minqing.ocr._lm import CharBigramLM

_DET_MODEL = "PP-OCRv6_det_small.onnx"
_REC_MODEL = "PP-OCRv6_rec_small.onnx"

#: our parameters and their defaults (every one is part of engine_id)
DEFAULTS: dict[str, Any] = {
    # pad the image with paper colour before detection: 2x the height around a tight
    # line crop (the detector finds nothing in a crop with no margin), a thin border
    # around a page
    "pad": True,
    # re-decode hesitant lines with a character-bigram LM: "substitute" re-chooses
    # look-alike characters on the greedy path; "beam" is a full CTC prefix beam
    # search (may also insert or drop characters); False: greedy only
    "lm": "substitute",
    # chosen on samples/ + generated pages (-m benchmarks.ocr --sweep-alpha), never on realdata
    "lm_alpha": 0.5,
    # re-recognise low-confidence lines from a wider crop; keep the likelier reading
    "rescue": True,
    # detect on a page scaled down to this longest side (boxes scaled back; the
    # recogniser still reads full-resolution crops); None: rapidocr's own resize
    # (shortest side up to 736, never down). Line crops always use rapidocr's resize.
    # 1120: the smallest of 960/1120/1280 that read samples/ + generated pages exactly
    # as None does (benchmarks/ocr.py), 1.25 -> 0.75 s per 1200x1700 sample page
    "det_max_side": 1120,
    # pre-printed forms: find the ruled cells, read cell by cell, a vertical label cell
    # (反/映/问/题 one character per row) as one label line (minqing.ocr.forms)
    "forms": True,
    # test-time variants of low-confidence line crops (contrast stretched, paper margin,
    # stretched 1.2x wide), the surest reading kept unless it changes only punctuation
    # (issue 14; on since that guard kept the samples' 。 from being read as °: real lines
    # 2.95% -> 2.65%, pages 1.04% -> 0.89%, samples and generated pages unchanged)
    "tta": True,
    # 稿纸 (issue 18): on a page ruled as a grid of equal squares, paint the ruling over in
    # the paper's colour before detection (minqing.ocr.forms.remove_grid)
    "derule": False,
    # issue 14: a line crop cut back to its writing where a ruled line runs through the
    # line and on beyond the writing (its stub was read as 一): curled phone photos in
    # mixed hands 1.64% -> 1.29%, every other set the same (benchmarks/README.md)
    "rule_stubs": True,
}

#: options added after archives were built: left out of engine_id at these values, so
#: that the OCR cache of those archives stays valid (the output is the same)
_ID_SILENT = {"derule": False}


def id_params(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` as spelt in engine_id (:data:`_ID_SILENT` values left out)."""
    return {k: v for k, v in options.items() if not (k in _ID_SILENT and v == _ID_SILENT[k])}


#: rapidocr's own detection resize (Det.limit_type, Det.limit_side_len)
_DET_LIMIT = ("min", 736)

#: lines below this confidence are dropped (rapidocr's Global.text_score)
TEXT_SCORE = 0.5
#: lines below this confidence are re-recognised from a wider crop
RESCUE_BELOW = 0.9


class RapidOcrEngine(OcrEngine):
    """PP-OCRv6 small through rapidocr, with our reading order and normalisation.

    rapidocr runs the detector; we crop the boxes and run the recognition model's
    ONNX session ourselves to get its per-step character probabilities (for the
    beam search and per-character confidences).

    Params:
        pad: paper-coloured border before detection (default True).
        lm: re-decode hesitant lines with a character-bigram LM: ``"substitute"``
            (default), ``"beam"`` or False.
        lm_alpha: LM weight (default 0.5).
        rescue: re-recognise low-confidence lines from a wider crop (default True).
        det_max_side: detect on a page scaled down to this longest side, then read
            full-resolution crops (default 1120; None: rapidocr's resize, no downscale).
        forms: read a ruled form cell by cell (default True).
        tta: test-time variants of low-confidence line crops (default True).
        derule: paint over the ruling of 稿纸 grid paper before detection (default False;
            in engine_id only when True).
        rule_stubs: cut a line crop back to its writing where a ruled line runs on beyond
            it (:func:`trim_rule_stubs`; default True).
    """

    name = "rapidocr"

    def __init__(self, *, threads: int | None = None, **params: Any) -> None:
        # all options, defaults included, so that equal settings give equal engine_ids
        super().__init__(threads=threads, **check_options(params))
        self.options = self.params
        try:
            import rapidocr  # noqa: F401
            from rapidocr import RapidOCR
            from rapidocr.utils.process_img import get_rotate_crop_image
        except ImportError as e:
            raise _unavailable(e) from e
        self._crop = get_rotate_crop_image
        self.version = _dist_version()
        self._model_files = model_files()
        _silence_rapidocr()
        config: dict[str, Any] = {
            "Global.use_cls": False,
            "Global.use_rec": False,
            "Global.log_level": "critical",
            "Det.model_path": str(self._model_files[0]),
            "Rec.model_path": str(self._model_files[1]),
        }
        if self.threads is not None:
            # both sessions (detection, and the recognition session we run ourselves)
            # take their options from this one section
            config["EngineConfig.onnxruntime.intra_op_num_threads"] = self.threads
            config["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
            limit_opencv_threads(self.threads)
        try:
            self._ocr = RapidOCR(params=config)
            # load both models now, once per engine object, not on the first page
            self._det = self._ocr._load_det_model()
            self._rec = self._ocr._load_rec_model()
            self._chars: list[str] = list(self._rec.postprocess_op.character)
        except Exception as e:
            raise EngineUnavailableError(
                f"could not load the PP-OCRv6 models through rapidocr ({type(e).__name__}: {e}); "
                "reinstall with: pip install --force-reinstall 'rapidocr>=3.10,<3.11' onnxruntime"
            ) from e
        _silence_rapidocr()
        self._lm: CharBigramLM | None = None

    @property
    def engine_id(self) -> str:
        return format_engine_id(self.name, self.version, self.model_ids(), id_params(self.params))

    def model_ids(self) -> list[str]:
        return _model_ids(self._model_files, self.options["lm"])

    @property
    def lm(self) -> CharBigramLM:
        """The character LM, built on first use (about a second; cached on disk)."""
        if self._lm is None:
            from minqing.ocr._lm import CharBigramLM

            self._lm = CharBigramLM.load()
        return self._lm

    # -- the pipeline ---------------------------------------------------------------

    def _recognize(self, image: np.ndarray) -> list[Line]:
        line = is_line_crop(image)
        want = (self.options["forms"] or self.options["derule"]) and not line
        cells = find_cells(image) if want else []
        if self.options["derule"] and is_character_grid(cells):
            image, cells = remove_grid(image, cells), []  # 稿纸: a plain page once unruled
        img, off = pad_for_detection(image) if self.options["pad"] else (image, 0)
        det = self._detect(img, line=line)
        boxes = getattr(det, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return []
        boxes = np.asarray(boxes, dtype=np.float32)
        crops = [self._crop(img, b.copy()) for b in boxes]
        trim = self.options["rule_stubs"]
        if trim:
            crops = [trim_rule_stubs(c) for c in crops]
        decoded = self.read_crops(crops)

        if self.options["rescue"]:
            weak = [i for i, d in enumerate(decoded) if d.confidence < RESCUE_BELOW]
            if weak:
                wide = [self._crop(img, _expand(boxes[i], img.shape)) for i in weak]
                wide = [trim_rule_stubs(c) for c in wide] if trim else wide
                for i, d in zip(weak, self.read_crops(wide), strict=True):
                    if d.confidence > decoded[i].confidence and d.text.strip():
                        decoded[i] = d

        if self.options["tta"]:
            weak = [i for i, d in enumerate(decoded) if d.confidence < RESCUE_BELOW]
            if weak:
                variants = [v for i in weak for v in crop_variants(crops[i])]
                reads = self.read_crops(variants)
                per = len(variants) // len(weak)
                for k, i in enumerate(weak):
                    first = _letters(decoded[i].text)
                    for d in reads[k * per : (k + 1) * per]:
                        # a variant that only changes punctuation is not taken: the variants
                        # are for characters, and a stretched or widened 。 reads as °
                        if (
                            d.confidence > decoded[i].confidence
                            and d.text.strip()
                            and _letters(d.text) != first
                        ):
                            decoded[i] = d

        h, w = image.shape[:2]
        out_boxes = boxes.astype(np.float64) - off
        out_boxes[..., 0] = out_boxes[..., 0].clip(0, w)
        out_boxes[..., 1] = out_boxes[..., 1].clip(0, h)
        if self.options["forms"] and cells and cells_hold_text(cells, list(out_boxes)):
            return self._form_lines(image, out_boxes, decoded, cells)
        lines = []
        for i in reading_order(list(out_boxes)):
            d = decoded[i]
            if d.confidence < TEXT_SCORE or not d.text.strip():
                continue
            lines.append(make_line(d, out_boxes[i]))
        return lines

    def _form_lines(
        self, image: np.ndarray, boxes: np.ndarray, decoded: list[Decoded], cells: list
    ) -> list[Line]:
        """Lines of a form page, cell by cell; a vertical label cell as one line."""
        lines = []
        skew = estimate_skew(list(boxes))
        for fl in order_by_cells(list(boxes), cells, reading_order, skew):
            if fl.index is not None:
                d = decoded[fl.index]
            else:
                parts = [decoded[i] for i in fl.members if decoded[i].text.strip()]
                d = Decoded(
                    "".join(p.text.strip() for p in parts),
                    tuple(c for p in parts for c in p.char_confidences),
                    (),
                )
                pts = np.concatenate([boxes[i] for i in fl.members])
                strip = vertical_strip(image, _grow(pts, 4, image.shape))
                if strip is not None:
                    again = self.read_crops([strip])[0]
                    if again.text.strip() and again.confidence > d.confidence:
                        d = again
            if d.confidence < TEXT_SCORE or not d.text.strip():
                continue
            lines.append(make_line(d, fl.box))
        return lines

    def _detect(self, img: np.ndarray, *, line: bool):
        """rapidocr's detection, on a downscaled copy of a page where ``det_max_side`` says.

        rapidocr maps the boxes back to ``img``'s coordinates either way.
        """
        det = self._det
        max_side = self.options["det_max_side"]
        if max_side and not line and max(img.shape[:2]) > max_side:
            det.limit_type, det.limit_side_len = "max", int(max_side)
        else:
            det.limit_type, det.limit_side_len = _DET_LIMIT
        return self._ocr(img)

    def rec_probs(self, crops: list[np.ndarray]):
        """Yield ``(index, T x C probabilities)`` for each crop, batch by batch.

        Runs the recognition model's ONNX session as rapidocr does (crops sorted by
        aspect ratio, batches of ``rec_batch_num``). The probabilities are large
        (T x 18710 floats per line), so callers decode each as it comes instead of
        keeping them.
        """
        rec = self._rec
        _, img_h, img_w = rec.rec_image_shape[:3]
        order = np.argsort([c.shape[1] / max(c.shape[0], 1) for c in crops])
        batch_n = rec.rec_batch_num
        for beg in range(0, len(crops), batch_n):
            ids = order[beg : beg + batch_n]
            max_ratio = max(
                img_w / img_h, *(crops[i].shape[1] / max(crops[i].shape[0], 1) for i in ids)
            )
            batch = np.stack([rec.resize_norm_img(crops[i], max_ratio) for i in ids]).astype(
                np.float32
            )
            preds = rec.session(batch)
            steps = preds.shape[1]
            for k, i in enumerate(ids):
                # drop the steps that only cover the batch's zero padding
                ratio = crops[i].shape[1] / max(crops[i].shape[0], 1)
                used = min(steps, int(np.ceil(steps * min(1.0, ratio / max_ratio))) + 2)
                yield int(i), preds[k, :used]
            del preds

    def read_crops(self, crops: list[np.ndarray]) -> list[Decoded]:
        """Recognise and decode each crop."""
        out: list[Decoded] = [Decoded("", (), ())] * len(crops)
        for i, probs in self.rec_probs(crops):
            out[i] = self.decode(probs)
        return out

    def decode(self, probs: np.ndarray) -> Decoded:
        """Greedy CTC decoding, or LM beam search where the model hesitates."""
        d = greedy_decode(probs, self._chars)
        mode = self.options["lm"]
        if mode and is_uncertain(probs):
            alpha = float(self.options["lm_alpha"])
            if mode == "beam":
                d = beam_decode(
                    probs, self._chars, self.lm, alpha=alpha, beta=alpha * self.lm.mean_cost
                )
            else:
                d = substitute_decode(probs, self._chars, self.lm, alpha=alpha)
        return with_alternates(d, probs, self._chars)


def check_options(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked and completed with :data:`DEFAULTS` (what engine_id lists).

    Raises:
        ValueError: an unknown parameter or an invalid ``lm``.
    """
    unknown = set(params) - set(DEFAULTS)
    if params.get("lm", "substitute") not in ("substitute", "beam", False, True):
        raise ValueError(
            f"rapidocr parameter lm must be 'substitute', 'beam' or False, got {params['lm']!r}"
        )
    if params.get("lm") is True:
        params = {**params, "lm": "substitute"}
    ms = params.get("det_max_side")
    if ms is not None and (isinstance(ms, bool) or not isinstance(ms, int) or ms < 32):
        raise ValueError(
            f"rapidocr parameter det_max_side must be None or an integer >= 32, got {ms!r}"
        )
    if unknown:
        raise ValueError(
            f"unknown rapidocr engine parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    return {**DEFAULTS, **params}


def model_files() -> list[Path]:
    """The PP-OCRv6 small detection and recognition ONNX files in the rapidocr wheel.

    Found without importing rapidocr (nor onnxruntime).

    Raises:
        EngineUnavailableError: rapidocr is not installed or lacks the files.
    """
    models = rapidocr_models_dir()
    if models is None:
        raise _unavailable(ModuleNotFoundError("No module named 'rapidocr'"))
    files = [models / _DET_MODEL, models / _REC_MODEL]
    missing = [p.name for p in files if not p.is_file()]
    if missing:
        raise EngineUnavailableError(
            f"the rapidocr package lacks its model files {missing} in {models}; "
            "reinstall it with: pip install --force-reinstall 'rapidocr>=3.10,<3.11'"
        )
    return files


def _model_ids(files: list[Path], lm: Any) -> list[str]:
    try:
        import onnxruntime  # its version may come from its build info: import, no session
    except ImportError as e:
        raise _unavailable(e) from e
    ids = [f"{p.stem}:{p.stat().st_size}" for p in files]
    ids.append(f"onnxruntime-{onnxruntime.__version__}")
    if lm:
        from minqing.ocr._lm import _VERSION, _dict_path

        ids.append(f"charlm-v{_VERSION}:{_dict_path().stat().st_size}")
    return ids


def engine_id_of(**params: Any) -> str:
    """``RapidOcrEngine(**params).engine_id`` without loading the models."""
    options = check_options(params)
    return format_engine_id(
        RapidOcrEngine.name,
        _dist_version(),
        _model_ids(model_files(), options["lm"]),
        id_params(options),
    )


def limit_opencv_threads(threads: int) -> None:
    """Cap OpenCV's (process-wide) thread pool, used by resizing and cropping."""
    import cv2

    cv2.setNumThreads(threads)


def _unavailable(e: Exception) -> EngineUnavailableError:
    return EngineUnavailableError(
        f"the rapidocr engine needs the 'rapidocr' and 'onnxruntime' packages ({e}); "
        "install them with: pip install 'rapidocr>=3.10,<3.11' onnxruntime"
    )


def make_line(d: Decoded, box: np.ndarray) -> Line:
    """A :class:`Line` from a decoded reading: normalised text, raw text, confidences."""
    raw = d.text
    text = normalize_text(raw)
    confs = d.char_confidences
    lead = 0
    if len(text) != len(raw):  # strip() removed spaces at the ends: realign
        lead = len(raw) - len(raw.lstrip())
        confs = confs[lead : lead + len(text)]
    alternates = []
    for i, alts, probs in d.alternates:
        j = i - lead
        if not 0 <= j < len(text):
            continue
        # alternates in the form the text is stored in (simplified), the read one dropped
        kept = [(a, p) for a, p in zip(to_simplified(alts), probs, strict=False) if a != text[j]]
        kept = [(a, p) for n, (a, p) in enumerate(kept) if a not in [b for b, _ in kept[:n]]]
        if kept:
            alternates.append((j, "".join(a for a, _ in kept), tuple(p for _, p in kept)))
    conf = float(min(max(d.confidence, 0.0), 1.0))
    return Line(
        text=text,
        box=tuple(map(tuple, box)),
        confidence=conf,
        raw_text=raw,
        char_confidences=confs,
        alternates=tuple(alternates),
    )


def crop_variants(crop: np.ndarray) -> list[np.ndarray]:
    """Test-time variants of a line crop: contrast stretched, with a paper margin, wider."""
    import cv2

    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    lo, hi = np.percentile(grey, [2, 98])
    scale = 255.0 / max(float(hi - lo), 1.0)
    stretched = ((crop.astype(np.float32) - lo) * scale).clip(0, 255).astype(np.uint8)
    h, w = crop.shape[:2]
    padded, _ = pad_with_paper(crop, max(2, h // 6))
    wide = cv2.resize(crop, (max(1, int(w * 1.2)), h), interpolation=cv2.INTER_CUBIC)
    return [stretched, padded, wide]


def _letters(text: str) -> str:
    """``text`` without whitespace, punctuation and symbols (what a tta variant may change)."""
    import unicodedata

    return "".join(c for c in text if unicodedata.category(c)[0] in "LN")


def trim_rule_stubs(crop: np.ndarray) -> np.ndarray:
    """A line crop cut back to its writing where a ruled line runs through it and on
    beyond the writing at either end (the detector boxes the rule's stub with the line,
    and the recogniser reads the stub as 一).

    The rule is the ink on horizontal runs at least twice the crop's height long (a
    written stroke is shorter than a character); the writing is the rest. An end is cut
    only where the rule runs on past the writing by more than 0.4 of the height.
    """
    import cv2

    h, w = crop.shape[:2]
    if h < 12 or w < 3 * h:
        return crop
    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    rule = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, 2 * h), np.uint8))
    if not rule.any():
        return crop
    near_rule = cv2.dilate(rule, np.ones((5, 3), np.uint8))
    text = cv2.morphologyEx(
        cv2.bitwise_and(ink, cv2.bitwise_not(near_rule)), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)
    )
    cols = np.flatnonzero((text > 0).sum(axis=0) >= 2)
    if not len(cols):
        return crop
    ruled: np.ndarray = np.asarray((rule > 0).any(axis=0))
    x0, x1 = int(cols[0]), int(cols[-1]) + 1
    margin = max(2, int(0.15 * h))
    left = x0 - margin if x0 > 0.4 * h and ruled[: x0 - margin].any() else 0
    right = x1 + margin if w - x1 > 0.4 * h and ruled[x1 + margin :].any() else w
    if left == 0 and right == w:
        return crop
    return np.ascontiguousarray(crop[:, max(0, left) : min(w, right)])


def _grow(pts: np.ndarray, px: int, shape: tuple[int, ...]) -> np.ndarray:
    """The axis-aligned box around ``pts``, grown by ``px`` and clipped to the image."""
    x0, y0 = pts.min(axis=0) - px
    x1, y1 = pts.max(axis=0) + px
    x0, x1 = max(0.0, x0), min(float(shape[1]), x1)
    y0, y1 = max(0.0, y0), min(float(shape[0]), y1)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _expand(box: np.ndarray, shape: tuple[int, ...], frac: float = 0.25) -> np.ndarray:
    """The box grown by ``frac`` of its height on every side (inside the image)."""
    b = box.astype(np.float32).copy()
    h = (np.linalg.norm(b[3] - b[0]) + np.linalg.norm(b[2] - b[1])) / 2
    centre = b.mean(axis=0)
    along = (b[1] - b[0]) / max(np.linalg.norm(b[1] - b[0]), 1e-6)
    across = np.array([-along[1], along[0]], dtype=np.float32)
    grow = frac * h
    signs = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    for k, (sa, sc) in enumerate(signs):
        b[k] += sa * grow * along + sc * grow * across
    del centre
    b[:, 0] = b[:, 0].clip(0, shape[1] - 1)
    b[:, 1] = b[:, 1].clip(0, shape[0] - 1)
    return b


def is_line_crop(image: np.ndarray) -> bool:
    """A tight crop of one text line rather than a page: short and wide."""
    h, w = image.shape[:2]
    return h <= 200 and w >= 2 * h


def pad_for_detection(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Paper-coloured border: 2x the height around a line crop, a thin one around a page."""
    h, w = image.shape[:2]
    if is_line_crop(image):
        return pad_with_paper(image, 2 * h)
    return pad_with_paper(image, max(16, int(0.02 * min(h, w))))


def pad_with_paper(image: np.ndarray, pad: int) -> tuple[np.ndarray, int]:
    """Surround ``image`` with ``pad`` pixels of its paper colour.

    The paper colour is the median of the brightest half of the border pixels.
    Returns the padded image and the border width.
    """
    import cv2

    edge = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).reshape(-1, 3)
    lum = edge.astype(np.int32).sum(axis=1)
    bright = edge[lum >= np.median(lum)]
    colour = [int(c) for c in np.median(bright, axis=0)]
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=colour), pad


def _silence_rapidocr() -> None:
    logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)


def _dist_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rapidocr")
    except PackageNotFoundError as e:
        raise _unavailable(e) from e
