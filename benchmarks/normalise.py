"""Page normalisation speed: median ms/page of ``ingest.normalise.normalise`` per kind of input.

Kinds (generated with the helpers in ``tests/_ingest_pages.py`` unless noted):

* ``clean``: the bundled sample pages (``samples/*/page-*.jpg``, 1200x1700 flat scans);
* ``phone``: a page photographed on a wooden table (perspective, uneven light);
* ``spread``: two facing pages scanned as one image (split at the gutter);
* ``a5-on-a4``: an A5 page lying skewed (4 and -6 degrees) on an A4 flatbed;
* ``turned``: a page turned 90, 180 and 270 degrees;
* ``skewed``: a full page rotated 3 degrees;
* ``real``: the page images of ``../shared/realdata`` (evaluation only: timed, and the
  transforms applied are listed, since real upright pages should mostly be left alone);
  skipped when absent.

Also prints, for the clean samples, the rest of ``ingest.load_source`` (decode, PNG
hash, quality flags), so normalisation can be seen against the whole per-page cost.
Each image is normalised once to warm up, then ``--repeat`` times; wall-clock and CPU
(process) medians are printed with the machine's load average, because the machine
may be shared.

Usage::

    .venv/bin/python -m benchmarks.normalise [--repeat 5] [--kind clean --kind phone ...]
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._common import command_line, machine, median

REPO = Path(__file__).resolve().parents[1]

REALDATA = REPO.parent / "shared" / "realdata"
KINDS = ["clean", "phone", "spread", "a5-on-a4", "turned", "skewed", "real"]


def _inputs(kind: str) -> list[tuple[str, object]]:
    """(label, BGR image) pairs of one kind; empty when the kind cannot be built here."""
    import cv2

    if kind == "clean":
        return [
            (str(f.relative_to(REPO)), cv2.imread(str(f)))
            for f in sorted((REPO / "samples").glob("*/page-*.jpg"))
        ]
    if kind == "real":
        labels = REALDATA / "labels.tsv"
        if not labels.exists():
            return []
        with labels.open(encoding="utf-8") as fh:
            rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
        files = [REALDATA / r[0] for r in rows[1:] if len(r) > 1 and r[1] == "page"]
        return [(f.name, cv2.imread(str(f))) for f in files if f.exists()]

    from tests import _ingest_pages as gen

    if gen.FONT is None:
        return []
    from minqing.ingest.normalise import rotate_bound

    page = gen.make_page(11)
    if kind == "phone":
        return [(f"seed {s}", gen.phone_photo(gen.make_page(s), seed=s)[0]) for s in (3, 4, 5)]
    if kind == "spread":
        return [
            ("pages 21+22", gen.spread(gen.make_page(21), gen.make_page(22))),
            ("pages 23+24", gen.spread(gen.make_page(23), gen.make_page(24))),
        ]
    if kind == "a5-on-a4":
        return [(f"{a:+.0f} deg", gen.on_flatbed(page, a)[0]) for a in (4.0, -6.0)]
    if kind == "turned":
        return [
            (name, cv2.rotate(page, code))
            for name, code in (
                ("90", cv2.ROTATE_90_CLOCKWISE),
                ("180", cv2.ROTATE_180),
                ("270", cv2.ROTATE_90_COUNTERCLOCKWISE),
            )
        ]
    if kind == "skewed":
        return [("3 deg", rotate_bound(page, 3.0))]
    raise ValueError(kind)


def _time(fn: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per image (median reported)")
    ap.add_argument("--kind", action="append", choices=KINDS, help="kinds to run (default: all)")
    args = ap.parse_args()

    from minqing.ingest.normalise import _cls_session, normalise

    _cls_session()  # the classifier's one-off load is not a per-page cost
    print(f"machine: {machine()}")
    print(f"command: {command_line()}")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print(f"{'kind':<10} {'pages':>5} {'wall ms/page':>13} {'cpu ms/page':>12}  transforms")
    for kind in args.kind or KINDS:
        items = _inputs(kind)
        if not items:
            print(
                f"{kind:<10} skipped "
                f"({'no ../shared/realdata' if kind == 'real' else 'no Kai font'})"
            )
            continue
        walls, cpus, seen = [], [], []
        for label, image in items:
            wall, cpu = _time(lambda image=image: normalise(image), args.repeat)
            walls += wall
            cpus += cpu
            out = normalise(image)
            seen.append(f"{label}: " + " + ".join(",".join(o.transforms) or "-" for o in out))
        print(
            f"{kind:<10} {len(items):>5} {median(walls) * 1000:>13.0f} "
            f"{median(cpus) * 1000:>12.0f}  "
            + (
                "; ".join(seen)
                if kind != "clean"
                else f"{sum(s.endswith(': -') for s in seen)}/{len(seen)} left alone"
            )
        )

    # the rest of load_source on the clean samples -----------------------------------------
    from minqing.ingest import load_source
    from minqing.ingest._load import image_sha256, read_raw
    from minqing.ingest.quality import quality_flags
    from minqing.ingest.types import SourceFile

    files = sorted((REPO / "samples").glob("*/page-*.jpg"))
    if not files or (args.kind and "clean" not in args.kind):
        return
    parts: dict[str, list[float]] = {
        "decode": [],
        "normalise": [],
        "png hash": [],
        "quality flags": [],
    }
    for f in files:
        raw = next(iter(read_raw(SourceFile(f, f.parent.name))))
        (norm,) = normalise(raw.image)
        for name, fn in (
            ("decode", lambda f=f: list(read_raw(SourceFile(f, "b")))),
            ("normalise", lambda raw=raw: normalise(raw.image)),
            ("png hash", lambda norm=norm: image_sha256(norm.image)),
            ("quality flags", lambda norm=norm, dpi=raw.dpi: quality_flags(norm.image, dpi=dpi)),
        ):
            parts[name] += _time(fn, args.repeat)[0]
    whole: list[float] = []
    for f in files:
        whole += _time(lambda f=f: load_source(SourceFile(f, "b")), args.repeat)[0]
    print(
        "\nload_source on the clean samples, median wall ms/page: "
        + ", ".join(f"{k} {median(v) * 1000:.0f}" for k, v in parts.items())
        + f"; whole load_source {median(whole) * 1000:.0f}"
    )


if __name__ == "__main__":
    main()
