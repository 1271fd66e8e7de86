"""Issue 12: a short run of the ingest fuzzer (benchmarks/fuzz_ingest.py) over malformed
images, PDFs, TIFFs and file names, through the real pipeline and OCR engine.

The full run is ``benchmarks/fuzz_ingest.py --cases 2000`` (see benchmarks/README.md).
Before the fixes a batch holding a non-UTF-8 file name crashed the whole run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import REPO, text


def test_fuzz_ingest_short_run(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "fuzz_ingest.py"),
            "--cases",
            "24",
            "--batch",
            "12",
            "--seed",
            "3",
            "--keep",
            str(tmp_path / "keep"),
        ],
        cwd=tmp_path,
        capture_output=True,
        timeout=600,
        check=False,
    )
    out = text(proc.stdout)
    summary = out.strip().splitlines()[-1] if out.strip() else ""
    assert proc.returncode == 0, out[-3000:] + text(proc.stderr)[-3000:]
    assert summary.startswith("cases 24, correct 24, crashed 0, unaccounted 0,"), summary
    assert "integrity failures 0" in summary
