"""Decode input files into raw page images (before normalisation).

Library errors are converted here, at the boundary, into :mod:`ingest.errors`
exceptions that name the user's file.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from minqing.ingest._sniff import READABLE
from minqing.ingest.errors import (
    CorruptScanError,
    DecompressionBombError,
    EncryptedPdfError,
)

if TYPE_CHECKING:  # imported where used: pdfplumber is slow to import
    from pdfplumber.pdf import PDF

#: Largest image (or rendered PDF page) ingest decodes, in pixels. 150 Mpx holds an
#: A3 page at 600 dpi (70 Mpx) or an A4 page at 1200 dpi (140 Mpx) and keeps one
#: decoded page under ~450 MB of RAM per worker. Override with the environment
#: variable ``MINQING_MAX_IMAGE_PIXELS`` (read when ingest is imported).
MAX_IMAGE_PIXELS = int(os.environ.get("MINQING_MAX_IMAGE_PIXELS") or 150_000_000)
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

#: PDF pages without a text layer are rendered at this resolution.
PDF_RENDER_DPI = 300

_BOMB_HINT = (
    f"the limit is {MAX_IMAGE_PIXELS:,} pixels; if the scan is genuine set "
    "MINQING_MAX_IMAGE_PIXELS higher, otherwise rescan at 300 dpi"
)


@dataclass
class RawPage:
    """One decoded page image before normalisation."""

    image: np.ndarray  # BGR uint8
    original_bytes: bytes
    original_ext: str
    dpi: float | None = None  # resolution of the scan, when known
    transforms: list[str] = field(default_factory=list)
    text_lines: tuple[tuple[str, tuple[float, float, float, float]], ...] | None = None


def _to_bgr(im: Image.Image) -> np.ndarray:
    """Any PIL mode to a BGR uint8 array; transparency is composited on white."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") else max(float(arr.max()), 1.0)
        if im.mode in ("I", "F") and arr.max() <= 255:
            top = 255.0
        grey = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    rgb = np.asarray(im.convert("RGB"))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def _dpi_of(im: Image.Image) -> float | None:
    dpi = im.info.get("dpi")
    try:
        if dpi:
            value = float(min(dpi[0], dpi[1]))
            return value if value > 1 else None
    except (TypeError, ValueError, IndexError):
        return None
    return None


def _frame_png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    try:
        im.save(buf, format="PNG")
    except (OSError, ValueError):
        buf = io.BytesIO()
        im.convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def _corrupt(path: Path, kind: str, e: BaseException, where: str = "") -> CorruptScanError:
    """``where``: which page of a multi-page file broke, e.g. ``" (page 2 of 3)"``."""
    label = kind.upper()
    text = str(e).strip()
    if "truncated" in text.lower() or isinstance(e, EOFError):
        return CorruptScanError(
            path, f"truncated {label} image{where}", "rescan the page or re-copy the file"
        )
    first = text.splitlines()[0] if text else type(e).__name__
    if first.lstrip("-").isdigit():  # PIL reports some decoder failures as a bare code
        first = f"decoder error {first}"
    elif isinstance(e, (TypeError, KeyError, AttributeError)):  # PIL tripping over missing fields
        first = "its structure is broken (cut short?)"
    return CorruptScanError(
        path, f"damaged {label} image{where}: {first}", "rescan the page or re-copy the file"
    )


def read_raster(data: bytes, kind: str, path: Path) -> Iterator[RawPage]:
    """Decode a JPEG/PNG/TIFF/BMP/WebP file: one RawPage per frame, EXIF orientation applied.

    Frames are decoded one at a time as the caller asks for them, so a 400-page TIFF
    needs the memory of one page, not of 400. A damaged frame of a multi-page file
    fails the whole file, naming the page (the caller drops what it got before).
    """
    current = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)  # PIL's "Corrupt EXIF data" chatter
            with Image.open(io.BytesIO(data)) as im:
                # frames are walked one by one (not counted first: counting a damaged
                # multi-page TIFF fails before any page is named)
                single = not getattr(im, "is_animated", False)
                while True:
                    if current:
                        try:
                            im.seek(current)
                        except EOFError:
                            break
                    im.load()
                    stored = im.copy()
                    stored.info = dict(im.info)
                    frame = stored
                    transforms: list[str] = []
                    orientation = frame.getexif().get(0x0112, 1) if current == 0 else 1
                    if orientation and orientation != 1:
                        frame = ImageOps.exif_transpose(frame)
                        transforms.append(f"exif:{orientation}")
                    if single:
                        original, ext = data, READABLE.get(kind, ".img")
                    else:
                        original, ext = _frame_png(stored), ".png"
                    page = RawPage(_to_bgr(frame), original, ext, _dpi_of(frame), transforms)
                    del stored, frame
                    yield page
                    del page
                    current += 1
                    if single or not getattr(im, "is_animated", False):
                        break
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DecompressionBombError(path, "image too large to decode safely", _BOMB_HINT) from e
    except MemoryError as e:
        raise DecompressionBombError(path, "out of memory decoding image", _BOMB_HINT) from e
    except Exception as e:
        # PIL's format plugins raise many kinds on damaged files (OSError, SyntaxError,
        # ValueError, EOFError, IndexError, and a TypeError on a truncated TIFF): at
        # this boundary every one of them means "this scan is damaged"
        where = f" (page {current + 1})" if current else ""
        raise _corrupt(path, kind, e, where) from e


# ---------------------------------------------------------------- PDF ----


def _pdf_error(path: Path, e: BaseException, where: str) -> Exception:
    """pdfplumber wraps pdfminer errors in PdfminerException with the real error in
    ``args[0]`` (STYLE.md §4); unwrap it and classify."""
    from pdfminer.pdfdocument import PDFEncryptionError

    inner: object = e
    if type(e).__name__ == "PdfminerException" and e.args:
        inner = e.args[0]
    for candidate in (inner, e, e.__cause__, e.__context__):
        if isinstance(candidate, PDFEncryptionError) or (
            isinstance(candidate, type) and issubclass(candidate, PDFEncryptionError)
        ):
            return EncryptedPdfError(
                path,
                "PDF is encrypted with a password",
                "save an unencrypted copy of the PDF and ingest that",
            )
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    if "password" in text.lower() or "encrypt" in text.lower():
        return EncryptedPdfError(
            path,
            "PDF is encrypted with a password",
            "save an unencrypted copy of the PDF and ingest that",
        )
    return CorruptScanError(
        path,
        f"damaged PDF ({where}): {text}",
        "re-export or re-copy the PDF, or rescan the notebook",
    )


def _real_text(chars: list[dict]) -> bool:
    """A text layer counts when it has readable characters (not only ``(cid:N)`` glyphs)."""
    readable = [c for c in chars if c.get("text", "").strip() and not c["text"].startswith("(cid:")]
    return len(readable) >= 2 and len(readable) >= 0.5 * len(chars)


def _scan_dpi(page: object, width_pt: float) -> float | None:
    """Resolution of the largest embedded image, from its pixel size and placed size."""
    best: tuple[float, float] | None = None
    for img in getattr(page, "images", []) or []:
        src = img.get("srcsize") or (0, 0)
        placed_w = abs(float(img.get("x1", 0)) - float(img.get("x0", 0)))
        placed_h = abs(float(img.get("bottom", 0)) - float(img.get("top", 0)))
        if not src[0] or placed_w <= 1 or placed_h <= 1:
            continue
        area = placed_w * placed_h
        dpi = min(src[0] / (placed_w / 72.0), src[1] / (placed_h / 72.0))
        if best is None or area > best[0]:
            best = (area, dpi)
    if best and best[0] >= 0.25 * width_pt * width_pt:
        return best[1]
    return None


def _iter_pdf_pages(pdf: PDF, path: Path):
    """Yield ``(page number, pdfplumber page)`` one page at a time.

    ``pdf.pages`` builds every page up front and reports a damaged page object
    without its number; building them one by one names the page that broke.
    """
    from pdfminer.pdfpage import PDFPage
    from pdfplumber.page import Page as PlumberPage

    pages = PDFPage.create_pages(pdf.doc)
    doctop = 0.0
    number = 0
    while True:
        number += 1
        try:
            page_obj = next(pages)
        except StopIteration:
            return
        except Exception as e:
            raise _pdf_error(path, e, f"page {number}") from e
        try:
            page = PlumberPage(pdf, page_obj, page_number=number, initial_doctop=doctop)
            doctop += float(page.height)
        except Exception as e:
            raise _pdf_error(path, e, f"page {number}") from e
        yield number, page


def _blank(image: np.ndarray) -> bool:
    """True when a rendered page is one flat colour (nothing was drawn)."""
    sample = image[:: max(1, image.shape[0] // 100), :: max(1, image.shape[1] // 100)]
    return int(sample.max()) - int(sample.min()) <= 2


def _broken_image(page: object) -> str | None:
    """Why the page's largest embedded image cannot be decoded, or None when it can.

    PDFium renders an image it cannot decode as nothing at all, so a scan whose
    image data is damaged comes out as a blank page; asked only for pages that
    rendered blank although they place an image.
    """
    images = getattr(page, "images", None) or []
    if not images:
        return None
    img = max(
        images,
        key=lambda i: (
            abs(float(i.get("x1", 0)) - float(i.get("x0", 0)))
            * abs(float(i.get("bottom", 0)) - float(i.get("top", 0)))
        ),
    )
    stream = img.get("stream")
    if stream is None:
        return None
    try:
        names = [str(getattr(f, "name", f)) for f, _ in stream.get_filters()]
        raw = stream.get_data()
        if not raw:
            return "its image holds no data"
        if any(n in ("DCTDecode", "DCT", "JPXDecode") for n in names):
            with Image.open(io.BytesIO(raw)) as im:
                im.load()
    except UnidentifiedImageError:
        return "its scanned image cannot be decoded: unrecognised image data"
    except Exception as e:  # pdfminer and PIL raise many kinds; any means unreadable
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"its scanned image cannot be decoded: {text}"
    return None


def read_pdf(data: bytes, path: Path) -> Iterator[RawPage]:
    """Render every PDF page at :data:`PDF_RENDER_DPI`; keep a real text layer as lines.

    Pages are rendered one at a time as the caller asks for them, and each page's
    parsed objects are released before the next, so memory stays that of one page.
    A damaged page fails the whole file (the pipeline records one state per file),
    with a message that names the page.
    """
    import pdfplumber

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as e:  # pdfplumber wraps everything in PdfminerException
        raise _pdf_error(path, e, "open") from e
    count = 0
    opened = []
    try:
        scale = PDF_RENDER_DPI / 72.0
        for number, page in _iter_pdf_pages(pdf, path):
            opened.append(page)
            try:
                width_pt, height_pt = float(page.width), float(page.height)
            except Exception as e:
                raise _pdf_error(path, e, f"page {number}") from e
            pixels = width_pt * scale * height_pt * scale
            if pixels > MAX_IMAGE_PIXELS:
                raise DecompressionBombError(
                    path,
                    f"PDF page {number} is {width_pt / 72:.0f}x{height_pt / 72:.0f} inches, "
                    f"too large to render at {PDF_RENDER_DPI} dpi",
                    _BOMB_HINT,
                )
            try:
                chars = page.chars
                text_lines = None
                if _real_text(chars):
                    lines = []
                    for ln in page.extract_text_lines(layout=False, strip=True, return_chars=False):
                        text = ln["text"].strip()
                        if text:
                            box = (
                                ln["x0"] * scale,
                                ln["top"] * scale,
                                ln["x1"] * scale,
                                ln["bottom"] * scale,
                            )
                            lines.append((text, tuple(round(v, 2) for v in box)))
                    text_lines = tuple(lines)
                dpi = None if text_lines is not None else _scan_dpi(page, width_pt)
                with warnings.catch_warnings():
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    rendered = page.to_image(resolution=PDF_RENDER_DPI).original
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
                raise DecompressionBombError(
                    path, f"PDF page {number} too large to render", _BOMB_HINT
                ) from e
            except Exception as e:
                raise _pdf_error(path, e, f"page {number}") from e
            image = _to_bgr(rendered)
            if text_lines is None and _blank(image):
                why = _broken_image(page)
                if why is not None:
                    raise CorruptScanError(
                        path,
                        f"damaged PDF (page {number}): {why}",
                        "re-export or re-copy the PDF, or rescan that page",
                    )
            ok, png = cv2.imencode(".png", image)
            if not ok:  # pragma: no cover - cv2 always encodes a valid uint8 image
                raise CorruptScanError(path, f"cannot encode PDF page {number}", "report this bug")
            # a text page or a vector page is as sharp as its rendering
            raw = RawPage(
                image, png.tobytes(), ".png", dpi or float(PDF_RENDER_DPI), [], text_lines
            )
            del image, png, rendered
            count += 1
            yield raw
            del raw
            # release the page's parsed objects and pdfplumber's caches before the next
            opened.remove(page)
            page.close()
            pdf.flush_cache()
            cached = getattr(pdf.doc, "_cached_objs", None)  # pdfminer keeps every object
            if isinstance(cached, dict):  # it parsed (image streams too): drop them
                cached.clear()
        if not count:
            raise CorruptScanError(
                path, "PDF has no pages", "re-export the PDF or rescan the notebook"
            )
    finally:
        # pdfplumber's own close() re-reads the page tree, which raises again on a
        # damaged page and would replace our error: close what we opened instead
        for page in opened:
            page.close()
        pdf.flush_cache()
        pdf.stream.close()
