"""Merge time (issue 16): two synthetic county archives into one, then the same again.

Builds two county archives with :func:`benchmarks.archive.build` (same generator as the
web benchmark: entries, follow-up chains, keywords, pages and lines for some books; the
second county's book ids equal the first's, so it is merged with a prefix), merges both
into a fresh archive, then merges them again (nothing changed: the idempotent pass), and
reports seconds, entries per second and the database sizes.

    .venv/bin/python -m benchmarks.merge --entries 20000
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks._common import command_line, machine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=20000, help="entries per county")
    ap.add_argument("--cadres", type=int, default=2000, help="cadres (books) per county")
    args = ap.parse_args()
    print(f"machine: {machine()}\ncommand: {command_line()}", flush=True)
    from benchmarks.archive import build
    from minqing.archive.merge import Source, merge
    from minqing.archive.store import Archive

    tmp = Path(tempfile.mkdtemp(prefix="minqing-bench-merge-"))
    try:
        sources = []
        for i, name in enumerate(("county-a", "county-b")):
            root = tmp / name
            stats = build(
                root,
                args.entries,
                n_towns=10,
                n_villages=200,
                n_cadres=args.cadres,
                page_books=args.cadres // 10,
                seed=16 + i,
            )
            print(f"{name}: {stats}", flush=True)
            sources.append(Source(root, name, "" if i == 0 else "b-"))
        dest = tmp / "city"
        for label in ("first merge", "second merge (unchanged)"):
            t0 = time.perf_counter()
            with Archive(dest, create=True) as a:
                reports = merge(a, sources)
            s = time.perf_counter() - t0
            n = sum(r.entries for r in reports)
            print(
                f"{label:26s} {s:7.1f} s; books merged {sum(r.books for r in reports)}, "
                f"unchanged {sum(r.books_unchanged for r in reports)}; {n} entries"
                + (f" ({n / s:.0f} entries/s)" if n else ""),
                flush=True,
            )
        conn = sqlite3.connect(dest / "archive.db")
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
        total = conn.execute("select count(*) from entries").fetchone()[0]
        conn.close()
        mib = {p.name: sum(f.stat().st_size for f in p.glob("archive.db*")) / 2**20 for p in
               [*(s.root for s in sources), dest]}  # fmt: skip
        print(f"entries in the merged archive: {total}; database MiB: "
              + ", ".join(f"{k} {v:.0f}" for k, v in mib.items()))  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
