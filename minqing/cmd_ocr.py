"""``minqing ocr``: recognise the text lines of image files and print them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from minqing.errors import ExitCode, MinqingError

if TYPE_CHECKING:
    from minqing.ocr import PageText


def read_image(path: Path) -> np.ndarray:
    """Decode an image file into an HxWx3 BGR uint8 array.

    Raises:
        ValueError: the file is not a readable image (message says what to do).
    """
    import cv2

    data = path.read_bytes()
    if not data:
        raise ValueError("the file is empty (rescan or re-copy it)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        # formats OpenCV cannot read (some TIFF/CMYK/GIF variants): try Pillow
        import io

        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as im:
                image = np.ascontiguousarray(np.asarray(im.convert("RGB"))[:, :, ::-1])
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
            raise ValueError(
                "not a readable image (rescan it, or export it as PNG, JPEG or TIFF)"
            ) from e
    return image


def read_images(path: Path) -> list[tuple[str, np.ndarray]]:
    """The page images of one file, named for the output: an image is one page; each page
    of a PDF (scanned or with a text layer, rendered as ``minqing ingest`` renders it) or of
    a multi-page TIFF is one, named ``FILE#N``.

    Raises:
        ValueError: the file cannot be read (message says what to do).
    """
    from minqing.ingest._sniff import sniff_file

    if sniff_file(path) not in ("pdf", "tiff"):
        return [(str(path), read_image(path))]
    from minqing.ingest import SourceFile, read_raw
    from minqing.ingest.errors import BadInputError

    try:
        raws = [raw.image for raw in read_raw(SourceFile(path, path.stem))]
    except BadInputError as e:
        raise ValueError(str(e)) from e
    if len(raws) == 1:
        return [(str(path), raws[0])]
    return [(f"{path}#{n}", image) for n, image in enumerate(raws, start=1)]


@click.command(name="ocr")
@click.argument(
    "images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image (JSON lines).")
@click.option(
    "--engine",
    "engine_name",
    default="rapidocr",
    show_default=True,
    help="OCR engine (see ocr.available_engines()).",
)
def command(images: tuple[Path, ...], as_json: bool, engine_name: str) -> None:
    """Recognise the text lines of IMAGE files and print them with confidences.

    IMAGES are page images (JPEG, PNG, TIFF, …) or PDFs; each page of a PDF or of a
    multi-page TIFF is printed on its own, named FILE#N.

    Plain output shows, per image, a header line and then one line per recognised
    text line: confidence, two spaces, text (in reading order). With --json, each
    image is one JSON object on its own line:
    {"image", "engine_id", "width", "height", "lines": [{"text", "raw_text",
    "confidence", "box"}]}. A file that cannot be read prints an error on stderr;
    the other images are still recognised and the exit code is 3.

    \b
    Examples:
        minqing ocr scans/page-001.jpg scans/page-002.jpg
        minqing ocr --json scans/*.png > lines.jsonl
    """
    from minqing.ocr import EngineUnavailableError, OcrError, get_engine

    try:
        engine = get_engine(engine_name)
    except EngineUnavailableError as e:
        raise MinqingError(str(e), exit_code=ExitCode.engine_error) from e

    failed = 0
    n = 0
    for path in images:
        try:
            named = read_images(path)
        except (ValueError, OSError) as e:
            failed += 1
            msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            click.echo(f"Error: {path}: {msg}", err=True)
            continue
        for name, image in named:
            try:
                page = engine.recognize(image)
            except OcrError as e:
                failed += 1
                click.echo(f"Error: {name}: {e}", err=True)
                continue
            _print_page(name, page, as_json, first=n == 0)
            n += 1
    if failed:
        click.get_current_context().exit(ExitCode.input_failed)


def _print_page(name: str, page: PageText, as_json: bool, first: bool) -> None:
    """One recognised page on stdout, as ``minqing ocr`` prints it."""
    if as_json:
        obj = {
            "image": name,
            "engine_id": page.engine_id,
            "width": page.width,
            "height": page.height,
            "lines": [
                {
                    "text": line.text,
                    "raw_text": line.raw_text,
                    "confidence": round(line.confidence, 4),
                    "box": [[round(x, 1), round(y, 1)] for x, y in line.box],
                }
                for line in page.lines
            ],
        }
        click.echo(json.dumps(obj, ensure_ascii=False))
    else:
        if not first:
            click.echo()
        click.echo(f"== {name} ({len(page.lines)} lines)")
        for line in page.lines:
            click.echo(f"{line.confidence:.2f}  {line.text}")
