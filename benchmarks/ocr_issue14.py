"""Issue 14 ablation: the capture types and techniques it added, against the bare engine.

    .venv/bin/python -m benchmarks.ocr_issue14            # a few minutes on 2 busy cores

Sets (built as in :mod:`benchmarks.ocr`): gen-hard, gen-form (two-column forms),
gen-form-vertical (grid forms with vertical label cells, layouts of seeds 101/102),
gen-phone-curl (curled, shadowed phone photos after ingest's normalise), and
../shared/realdata lines and pages (EVALUATION ONLY; skipped when absent). Rows: bare,
the default stage, the default without form cells (``forms=False``), and without test-time
crop variants (``tta=False``; on by default since issue 14's second session). Engines
interleaved image by image in one process.
"""

from __future__ import annotations

import numpy as np

from benchmarks import ocr as b
from benchmarks._common import command_line, machine

ROWS = ("bare", "stage (default)", "stage: -forms", "stage: -tta")


def main() -> None:
    print(f"# machine: {machine()}")
    print(f"# command: {command_line()}")
    gen = b.generated(quick=True)
    sets = {k: gen[k] for k in ("gen-hard", "gen-form", "gen-phone-curl")}
    sets["gen-form-vertical"] = [
        (img, ["民情日记", t["text"]])
        for img, t in (b.render_grid_form(seed=s) for s in (101, 102))
    ]
    for kind in ("line", "page"):
        if r := b.load_realdata(kind):
            sets[f"real-{kind}s"] = r
    engines = {n: b.CONFIGS[n]() for n in ROWS}
    for e in engines.values():
        e(np.full((64, 400, 3), 250, np.uint8))
    table = b.run_sets(engines, sets)
    print("\n| engine | " + " | ".join(f"{k} ({len(v)} img)" for k, v in sets.items()) + " |")
    print("|---|" + "---|" * len(sets))
    for n in ROWS:
        cells = [f"{r['cer']:.2%} / {r['cer_p']:.2%} / {r['s']:.2f}s" for r in table[n].values()]
        print(f"| {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
