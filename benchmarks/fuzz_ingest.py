"""Fuzz ``minqing ingest``: malformed images, PDFs, TIFFs and file names (issue 12).

A seeded generator (the same --seed gives the same cases) writes batches of input files
into a scratch folder, each batch is ingested by the real pipeline (``run_ingest``, the
real OCR engine, one worker) into one archive, and every case is judged:

- **crashed**: the run raised, or the file failed with an internal error (a bug);
- **unaccounted**: an input file without exactly one ``files`` row saying what happened;
- **correct**: accounted for, and either archived (``ok``/``duplicate``) or failed with a
  one-line printable reason naming the file; a well-formed page must be archived.

After each batch ``pragma integrity_check`` must say ``ok``. Prints one line per batch
and a summary; exits 1 when anything crashed, went unaccounted or broke integrity.

    .venv/bin/python benchmarks/fuzz_ingest.py --cases 2000       # the full run (slow)
    .venv/bin/python benchmarks/fuzz_ingest.py --cases 150 --batch 50 --keep /tmp/fz

Cases that crash are copied to ``--keep``/crashes (when given) to become regression tests.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import sqlite3
import struct
import sys
import tempfile
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from minqing.ingest.testing import assemble_pdf

try:
    from minqing.ingest import path_text
except ImportError:  # older code stored names as given

    def path_text(path):  # type: ignore[no-untyped-def]
        return os.fsdecode(path)


# -- generators -----------------------------------------------------------------------------


@dataclass
class Case:
    """One input file: its name (bytes: any POSIX name), bytes, and how it was made."""

    name: bytes
    data: bytes
    kind: str
    valid: bool  # a well-formed page image or PDF that must be archived
    symlink_to: bytes | None = None
    notes: list[str] = field(default_factory=list)


def _image(rng: random.Random, max_side: int = 256) -> Image.Image:
    mode = rng.choice(["RGB", "RGB", "L", "RGBA", "P", "1", "I;16", "CMYK", "LA", "I", "F"])
    w, h = rng.randint(8, max_side), rng.randint(8, max_side)
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    for _ in range(rng.randint(0, 6)):
        y = rng.randint(0, h - 1)
        d.line(
            (rng.randint(0, w // 3), y, rng.randint(w // 2, w), y + rng.randint(-3, 3)),
            fill=(0, 0, 0),
            width=rng.randint(1, 4),
        )
    if rng.random() < 0.2:  # noise
        arr = np.asarray(im).astype(np.int16)
        arr = arr - np.random.default_rng(rng.randint(0, 1 << 30)).integers(0, 80, arr.shape)
        im = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    if mode == "I;16":
        return im.convert("L").convert("I;16")
    return im.convert(mode)


_SAVE = {  # format: (PIL format, extension, modes it takes)
    "png": ("PNG", ".png", {"RGB", "L", "RGBA", "P", "1", "I;16", "LA", "I"}),
    "jpeg": ("JPEG", ".jpg", {"RGB", "L", "CMYK"}),
    "tiff": ("TIFF", ".tif", {"RGB", "L", "RGBA", "P", "1", "I;16", "CMYK", "LA", "I", "F"}),
    "bmp": ("BMP", ".bmp", {"RGB", "L", "P", "1"}),
    "webp": ("WEBP", ".webp", {"RGB", "RGBA"}),
}


def _encode(rng: random.Random, fmt: str) -> bytes:
    pil, _, modes = _SAVE[fmt]
    im = _image(rng)
    if im.mode not in modes:
        im = im.convert("RGB" if fmt != "jpeg" or rng.random() < 0.7 else "L")
    buf = io.BytesIO()
    kw: dict = {}
    if fmt == "jpeg":
        kw["quality"] = rng.randint(20, 95)
        if rng.random() < 0.3:  # EXIF orientation
            exif = Image.Exif()
            exif[0x0112] = rng.choice([1, 3, 6, 8, 2, 9, 0])
            kw["exif"] = exif.tobytes()
    if fmt in ("png", "tiff", "jpeg") and rng.random() < 0.5:
        kw["dpi"] = (rng.choice([0, 1, 72, 150, 300, 600, 65535]),) * 2
    if fmt == "tiff":
        kw["compression"] = rng.choice(["raw", "tiff_lzw", "tiff_deflate", "packbits"])
        if im.mode == "1" and rng.random() < 0.5:
            kw["compression"] = "group4"
    try:
        im.save(buf, format=pil, **kw)
    except (OSError, ValueError, KeyError):
        buf = io.BytesIO()
        im.convert("RGB").save(buf, format=pil if fmt != "tiff" else "TIFF")
    return buf.getvalue()


def _multi_tiff(rng: random.Random) -> bytes:
    frames = [
        _image(rng, 200).convert(rng.choice(["RGB", "L", "1"])) for _ in range(rng.randint(2, 5))
    ]
    buf = io.BytesIO()
    frames[0].save(
        buf,
        format="TIFF",
        save_all=True,
        append_images=frames[1:],
        compression=rng.choice(["raw", "tiff_deflate", "tiff_lzw"]),
    )
    return buf.getvalue()


def _pdf(rng: random.Random) -> bytes:
    """A small PDF by hand: text pages, an embedded JPEG scan page, or no pages."""
    objs: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    n = rng.choice([0, 1, 1, 2, 3])
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i in range(n):
        w, h = rng.choice([(149, 210), (200, 150), (105, 148), (50, 50)])  # A7, A8...
        page_no = len(objs) + 1
        kids.append(f"{page_no} 0 R")
        if rng.random() < 0.5:
            words = rng.choice(
                ["Visit to household", "Road repair", "Water supply", "(cid:3)(cid:4)", "x"]
            )
            stream = f"BT /F1 12 Tf 20 {h - 40} Td ({words} {i}) Tj ET".encode()
            res = "/Font << /F1 3 0 R >>"
        else:  # a scanned page: one JPEG image filling it
            jpg = _encode(rng, "jpeg")
            with Image.open(io.BytesIO(jpg)) as im:
                iw, ih = im.size
                cs = {"L": "/DeviceGray", "CMYK": "/DeviceCMYK"}.get(im.mode, "/DeviceRGB")
            img_no = page_no + 2
            objs_img = (
                (
                    f"<< /Type /XObject /Subtype /Image /Width {iw} /Height {ih} "
                    f"/ColorSpace {cs} /BitsPerComponent 8 /Filter /DCTDecode "
                    f"/Length {len(jpg)} >>\nstream\n"
                ).encode()
                + jpg
                + b"\nendstream"
            )
            stream = f"q {w} 0 0 {h} 0 0 cm /Im0 Do Q".encode()
            res = f"/XObject << /Im0 {img_no} 0 R >>"
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] /Resources << {res} >> "
            f"/Contents {page_no + 1} 0 R >>".encode()
        )
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        if "XObject" in res:
            objs.append(objs_img)
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {n} >>".encode()
    return assemble_pdf(objs, header=b"%PDF-1.4\n")


def _png_bomb(rng: random.Random) -> bytes:
    """A PNG header claiming a huge image, with almost no data."""
    w, h = rng.choice([(100_000, 100_000), (60_000, 3), (20_000, 20_000)])
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _mutate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    how = rng.choice(
        ["truncate", "truncate", "flip", "flip", "junk", "zero-tail", "splice", "head"]
    )
    b = bytearray(data)
    if how == "truncate" and len(b) > 2:
        return bytes(b[: rng.randint(1, len(b) - 1)]), how
    if how == "flip":
        for _ in range(rng.randint(1, 12)):
            i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
        return bytes(b), how
    if how == "junk":
        i = rng.randrange(len(b))
        return bytes(b[:i]) + rng.randbytes(rng.randint(1, 64)) + bytes(b[i:]), how
    if how == "zero-tail":
        i = rng.randrange(len(b))
        return bytes(b[:i]) + b"\0" * (len(b) - i), how
    if how == "splice":  # the magic of one format on the body of another
        magic = rng.choice(
            [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"II*\x00", b"%PDF-1.7\n", b"BM"]
        )
        return magic + bytes(b[len(magic) :]), how
    return bytes(b[: rng.randint(4, 40)]), how


_NAME_PARTS = [
    "p",
    "page",
    "第一页",
    "扫描",
    "IMG_",
    "scan ",
    "-rf",
    "%s%d",
    "a\\b",
    "😀",
    "x" * 60,
]


def _name(rng: random.Random, n: int, ext: str) -> bytes:
    base = f"{n:04d}-{rng.choice(_NAME_PARTS)}".encode()
    r = rng.random()
    if r < 0.08:
        base += b"\xff\xfe"  # not UTF-8
    elif r < 0.14:
        base += b"\nline"  # a newline
    elif r < 0.18:
        base += b"\ttab\r"
    elif r < 0.22:
        base += "\u3000全角 ".encode()
    elif r < 0.25:
        base += b"\x1b[31m"  # an escape sequence
    if rng.random() < 0.1:  # the extension lies about the contents
        ext = rng.choice([".jpg", ".png", ".pdf", ".tif", ""])
    name = base + ext.encode()
    return name[:250]


def generate(rng: random.Random, n: int) -> Case:
    """The n-th case."""
    r = rng.random()
    if r < 0.30:
        fmt = rng.choice(list(_SAVE))
        return Case(_name(rng, n, _SAVE[fmt][1]), _encode(rng, fmt), f"{fmt}", True)
    if r < 0.38:
        return Case(_name(rng, n, ".tif"), _multi_tiff(rng), "multi-tiff", True)
    if r < 0.46:
        data = _pdf(rng)
        return Case(_name(rng, n, ".pdf"), data, "pdf", b"/Count 0" not in data)
    if r < 0.80:
        pick = rng.random()
        if pick < 0.35:
            src, kind = _pdf(rng), "pdf"
        elif pick < 0.5:
            src, kind = _multi_tiff(rng), "multi-tiff"
        else:
            kind = rng.choice(list(_SAVE))
            src = _encode(rng, kind)
        data, how = _mutate(rng, src)
        ext = {"pdf": ".pdf", "multi-tiff": ".tif"}.get(kind, _SAVE.get(kind, ("", ".bin"))[1])
        return Case(_name(rng, n, ext), data, f"{kind}:{how}", False)
    if r < 0.85:
        return Case(_name(rng, n, ".png"), _png_bomb(rng), "png-bomb", False)
    if r < 0.90:
        return Case(_name(rng, n, ".jpg"), b"", "empty", False)
    if r < 0.94:
        return Case(
            _name(rng, n, ".jpg"), rng.randbytes(rng.randint(1, 4096)), "random-bytes", False
        )
    if r < 0.97:
        return Case(
            _name(rng, n, ".jpg"),
            b"",
            "dangling-symlink",
            False,
            symlink_to=b"/nonexistent/" + _name(rng, n, ".jpg"),
        )
    # a heic/gif/zip: known but unsupported
    magic = rng.choice([b"GIF89a", b"PK\x03\x04", b"\x00\x00\x00\x18ftypheic"])
    return Case(_name(rng, n, ".gif"), magic + rng.randbytes(200), "unsupported", False)


# -- judging --------------------------------------------------------------------------------


@dataclass
class Tally:
    cases: int = 0
    correct: int = 0
    crashed: int = 0
    unaccounted: int = 0
    valid_failed: int = 0
    integrity_failures: int = 0
    crashes: list[str] = field(default_factory=list)


def _judge(
    cases: list[tuple[Case, Path]], archive_db: Path, tally: Tally, keep: Path | None
) -> None:
    conn = sqlite3.connect(archive_db)
    try:
        rows = {}
        for path, state, reason in conn.execute("select path, state, reason from files"):
            rows.setdefault(path, []).append((state, reason))
        ok = conn.execute("pragma integrity_check").fetchone()[0]
    finally:
        conn.close()
    if ok != "ok":
        tally.integrity_failures += 1
    for case, path in cases:
        tally.cases += 1
        got = rows.get(path_text(path), [])
        if len(got) != 1:
            tally.unaccounted += 1
            tally.crashes.append(f"unaccounted {case.kind} {path!r}: {got}")
            continue
        state, reason = got[0]
        if state == "failed" and (reason is None or "internal error" in reason):
            tally.crashed += 1
            tally.crashes.append(f"crash {case.kind} {path!r}: {reason}")
            _keep(case, keep)
            continue
        if state == "failed" and (not _one_line(reason) or path_text(path) not in reason):
            tally.crashes.append(f"bad message {case.kind} {path!r}: {reason!r}")
            continue
        if case.valid and state == "failed":
            tally.valid_failed += 1
            tally.crashes.append(f"valid input failed {case.kind} {path!r}: {reason}")
            _keep(case, keep)
            continue
        tally.correct += 1


def _one_line(text: str) -> bool:
    """No control character (newline, escape) and nothing that will not encode as UTF-8."""
    return not any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in text)


def _keep(case: Case, keep: Path | None) -> None:
    if keep is None or case.symlink_to is not None:
        return
    d = keep / "crashes"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{len(list(d.iterdir())):04d}-{case.kind.replace(':', '-')}.bin").write_bytes(case.data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--batch", type=int, default=50, help="files per ingest run")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--keep", type=Path, help="keep the scratch folder here (and crashing inputs)")
    args = ap.parse_args(argv)

    from minqing.archive.store import Archive
    from minqing.pipeline import run_ingest

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="fuzz-ingest-"))
    archive_dir = work / "archive"
    tally = Tally()
    started = time.perf_counter()
    n = 0
    batch_no = 0
    while n < args.cases:
        batch_no += 1
        folder = work / "scans" / f"batch{batch_no:03d}"
        folder.mkdir(parents=True)
        cases: list[tuple[Case, Path]] = []
        for _ in range(min(args.batch, args.cases - n)):
            n += 1
            case = generate(rng, n)
            p = Path(os.fsdecode(os.fsencode(folder) + b"/" + case.name))
            if case.symlink_to is not None:
                os.symlink(os.fsdecode(case.symlink_to), p)
            else:
                p.write_bytes(case.data)
            cases.append((case, p))
        t0 = time.perf_counter()
        archive = Archive(archive_dir, create=True)
        try:
            summary = run_ingest([folder], archive, workers=1)
            note = (
                f"ok {summary.files_ok} failed {summary.files_failed} dup {summary.duplicate_pages}"
            )
        except Exception as exc:
            tally.crashed += len(cases)
            tally.cases += len(cases)
            tally.crashes.append(f"run crashed on batch {batch_no}: {type(exc).__name__}: {exc}")
            traceback.print_exc()
            if args.keep:
                shutil.copytree(folder, args.keep / "crashed-batches" / folder.name, symlinks=True)
            archive.close()
            continue
        archive.close()
        _judge(cases, archive_dir / "archive.db", tally, args.keep)
        print(
            f"batch {batch_no}: {len(cases)} cases, {note}, {time.perf_counter() - t0:.1f} s; "
            f"so far correct {tally.correct}/{tally.cases}, crashed {tally.crashed}, "
            f"unaccounted {tally.unaccounted}, integrity failures {tally.integrity_failures}",
            flush=True,
        )
    seconds = time.perf_counter() - started
    for line in tally.crashes[:50]:
        print("  " + line.encode("unicode_escape").decode("ascii")[:300])
    print(
        f"cases {tally.cases}, correct {tally.correct}, crashed {tally.crashed}, "
        f"unaccounted {tally.unaccounted}, well-formed pages that failed {tally.valid_failed}, "
        f"integrity failures {tally.integrity_failures} ({seconds:.0f} s, seed {args.seed})"
    )
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        shutil.copytree(work, args.keep / "work", symlinks=True, dirs_exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    bad = tally.crashed or tally.unaccounted or tally.integrity_failures or tally.valid_failed
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
