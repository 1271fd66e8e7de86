"""Spot-check: an acceptance sample of lines per batch and an honest CER with a 95% CI.

Sampling plan (in the spirit of archive digitisation acceptance practice, e.g. DA/T 31
"纸质档案数字化规范": inspect a random sample of at least 5% of the batch, never fewer
than a fixed minimum): the sample holds at least ``min_lines`` lines (default 200) and
at least ``fraction`` (5%) of the batch's lines, and covers at least ``fraction`` of its
pages. Lines are drawn at random without replacement, stratified by book and by engine
confidence band (proportional allocation, at least 2 lines per stratum), so every
book is represented and the low-confidence lines are not missed by chance.

Estimate: the archive's character error rate is a ratio of two totals (errors /
characters) and lines differ in length, so lines are clusters of characters: the
estimate is the stratified (combined) ratio estimator ``R = Σ w·e / Σ w·c`` with
``w = N_h / n_h``, and its variance the Taylor linearisation
``V = Σ_h N_h² (1 - n_h/N_h) s²_h / n_h / C²`` of the residuals ``d = e - R·c``
(Cochran, Sampling Techniques, §6.11). The 95% interval is ``R ± 1.96 √V``, floored
at 0; with no error observed its upper end is the rule-of-three bound ``3 / chars``.
Errors are edit distances after NFKC, with whitespace and punctuation ignored.

A batch passes when the estimated CER is at most the threshold (default 3%);
``confident`` says whether the whole interval lies on the same side.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from rapidfuzz.distance import Levenshtein

from minqing.archive import records
from minqing.archive.errors import BadCorrectionError
from minqing.archive.schema import BOOKS, CALIBRATION, ENTRIES, ITEMS, LINES, PAGES, SAMPLES
from minqing.archive.store import Archive
from minqing.review import corrections

#: confidence bands used as strata
BANDS = (0.0, 0.8, 0.95, 1.000001)
#: calibration bins of engine confidence
CAL_BINS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.000001)
DEFAULT_MIN_LINES = 200
DEFAULT_FRACTION = 0.05
DEFAULT_THRESHOLD = 0.03
Z95 = 1.959964


# -- text comparison -----------------------------------------------------------------------


def cer_text(text: str | None) -> str:
    """The form compared for CER: NFKC, no whitespace, no punctuation."""
    t = unicodedata.normalize("NFKC", text or "")
    return "".join(
        ch for ch in t if not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (rapidfuzz's C implementation)."""
    return Levenshtein.distance(a, b)


# -- drawing a sample ----------------------------------------------------------------------


def _band(conf: float | None) -> int:
    c = 0.0 if conf is None else conf
    for i in range(len(BANDS) - 1):
        if BANDS[i] <= c < BANDS[i + 1]:
            return i
    return len(BANDS) - 2


def _population(
    archive: Archive,
    books: Sequence[str] | None,
    date_from: str | None,
    date_to: str | None,
    townships: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    where = ["trim(coalesce(l.text, '')) != ''"]
    params: list[Any] = []
    if books:
        where.append(f"l.book_id in ({','.join('?' * len(books))})")
        params += list(books)
    if townships:
        where.append(
            f"l.book_id in (select book_id from {BOOKS} "
            f"where township in ({','.join('?' * len(townships))}))"
        )
        params += list(townships)
    if date_from:
        where.append("e.date >= ?")
        params.append(date_from)
    if date_to:
        where.append("e.date <= ?")
        params.append(date_to)
    return list(
        archive.db.query(
            f"select l.line_id, l.book_id, l.page_id, p.sha256 page_sha, l.x0, l.y0, l.x1, l.y1, "
            f"l.confidence, l.text, l.machine_text from {LINES} l "
            f"join {PAGES} p on p.page_id = l.page_id "
            f"left join {ENTRIES} e on e.entry_id = l.entry_id where {' and '.join(where)} "
            "order by l.book_id, l.page_no, l.line_no",
            params,
        )
    )


def plan_size(
    n_lines: int, *, min_lines: int = DEFAULT_MIN_LINES, fraction: float = DEFAULT_FRACTION
) -> int:
    """Sample size of the plan: max(min_lines, ⌈fraction · lines⌉), at most every line."""
    return min(n_lines, max(min_lines, math.ceil(fraction * n_lines)))


def new_sample(
    archive: Archive,
    *,
    who: str,
    books: Sequence[str] | None = None,
    townships: Sequence[str] | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    size: int | None = None,
    min_lines: int = DEFAULT_MIN_LINES,
    fraction: float = DEFAULT_FRACTION,
    mode: str = "blind",
    threshold: float = DEFAULT_THRESHOLD,
    seed: int | None = None,
) -> int:
    """Draw a stratified random sample of lines of a batch; returns the sample id.

    The batch is the lines of ``books`` (all when None) and of the notebooks of
    ``townships`` (when given) whose entry's date lies in ``[date_from, date_to]``
    (when given). ``mode`` is ``blind`` (the reviewer types
    each line without seeing the engine text) or ``verify`` (sees and corrects it).
    """
    if mode not in ("blind", "verify"):
        raise BadCorrectionError("spotcheck", f"mode {mode!r}", "use blind or verify")
    if not 0 < threshold < 1:
        raise BadCorrectionError(
            "spotcheck", f"threshold {threshold}", "give a CER between 0 and 1, e.g. 0.03"
        )
    pop = _population(archive, books, date_from, date_to, townships)
    if not pop:
        raise BadCorrectionError(
            archive.db_path,
            "the batch has no lines to sample",
            "check the notebooks, townships and the date range",
        )
    n = min(len(pop), size) if size else plan_size(len(pop), min_lines=min_lines, fraction=fraction)
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    strata: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in pop:
        strata[f"{r['book_id']}|{_band(r['confidence'])}"].append(r)
    alloc = _allocate({k: len(v) for k, v in strata.items()}, n)
    chosen: list[tuple[str, dict[str, Any]]] = []
    for key, k in alloc.items():
        for r in rng.sample(strata[key], k):
            chosen.append((key, r))
    # cover at least `fraction` of the pages
    pages = {r["page_id"] for r in pop}
    need_pages = math.ceil(fraction * len(pages))
    got = {r["page_id"] for _, r in chosen}
    if len(got) < need_pages:
        chosen_ids = {r["line_id"] for _, r in chosen}
        spare = [r for r in pop if r["page_id"] not in got and r["line_id"] not in chosen_ids]
        rng.shuffle(spare)
        for r in spare:
            if len(got) >= need_pages:
                break
            if r["page_id"] not in got:
                key = f"{r['book_id']}|{_band(r['confidence'])}"
                chosen.append((key, r))
                got.add(r["page_id"])
    drawn: defaultdict[str, int] = defaultdict(int)
    for key, _ in chosen:
        drawn[key] += 1
    with archive.db.atomic():
        sid = (
            archive.db.table(SAMPLES)
            .insert(
                {
                    "created_at": records.now(),
                    "who": who,
                    "scope": json.dumps(
                        {
                            "books": list(books or []),
                            "date_from": date_from,
                            "date_to": date_to,
                            **({"townships": list(townships)} if townships else {}),
                        },
                        ensure_ascii=False,
                    ),
                    "seed": seed,
                    "mode": mode,
                    "threshold": threshold,
                    "size": len(chosen),
                    "population_lines": len(pop),
                    "population_pages": len(pages),
                    "plan": json.dumps(
                        {"min_lines": min_lines, "fraction": fraction, "size": size},
                        ensure_ascii=False,
                    ),
                }
            )
            .last_pk
        )
        archive.db.table(ITEMS).insert_all(
            [
                {
                    "sample_id": sid,
                    "line_id": r["line_id"],
                    "book_id": r["book_id"],
                    "page_id": r["page_id"],
                    "page_sha": r["page_sha"],
                    "x0": r["x0"],
                    "y0": r["y0"],
                    "x1": r["x1"],
                    "y1": r["y1"],
                    "stratum": key,
                    "population": len(strata[key]),
                    "drawn": drawn[key],
                    "confidence": r["confidence"],
                    "shown_text": r["text"],
                    "machine_text": r["machine_text"],
                    "transcription": None,
                    "ref_chars": None,
                    "errors": None,
                    "machine_errors": None,
                    "recorded_at": None,
                    "who": None,
                }
                for key, r in chosen
            ],
            pk=("sample_id", "line_id"),
        )
    assert sid is not None  # insert() sets last_pk
    return int(sid)


def _allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation (largest remainder), at least min(2, N_h) per stratum."""
    total = sum(sizes.values())
    base = {k: min(v, 2) for k, v in sizes.items()}
    left = n - sum(base.values())
    if left <= 0:
        return base
    quotas = {k: left * v / total for k, v in sizes.items()}
    alloc = {k: min(sizes[k], base[k] + int(q)) for k, q in quotas.items()}
    rest = n - sum(alloc.values())
    for k in sorted(quotas, key=lambda k: quotas[k] - int(quotas[k]), reverse=True):
        if rest <= 0:
            break
        if alloc[k] < sizes[k]:
            alloc[k] += 1
            rest -= 1
    while rest > 0:  # strata exhausted by the floor: spread what is left
        grew = False
        for k in alloc:
            if rest > 0 and alloc[k] < sizes[k]:
                alloc[k] += 1
                rest -= 1
                grew = True
        if not grew:
            break
    return alloc


# -- recording transcriptions --------------------------------------------------------------


def _sample(archive: Archive, sid: int) -> dict[str, Any]:
    row = next(archive.db.query(f"select * from {SAMPLES} where sample_id = ?", [sid]), None)
    if row is None:
        raise BadCorrectionError(
            archive.db_path,
            f"no spot-check sample {sid}",
            "list them with `minqing spotcheck list`",
        )
    return row


def record(
    archive: Archive,
    sid: int,
    rows: Iterable[tuple[str, str]],
    *,
    who: str,
    labels: Sequence[str] | None = None,
    fix_archive: bool = True,
) -> int:
    """Record reviewers' transcriptions ``(line_id, text)`` of sampled lines, atomically.

    Each line's errors are counted against the text the archive showed when the
    sample was drawn (and against the engine text, for calibration). When the
    transcription differs from the line's current text (ignoring whitespace and
    punctuation), the line is corrected in the archive too (audited, as ``who``).
    Raises :class:`BadCorrectionError` naming the first bad row; then nothing changes.
    """
    rows = list(rows)
    _sample(archive, sid)
    n = 0
    with archive.db.atomic():
        for i, (line_id, text) in enumerate(rows):
            label = labels[i] if labels else f"row {i + 1}"
            item = next(
                archive.db.query(
                    f"select * from {ITEMS} where sample_id = ? and line_id = ?", [sid, line_id]
                ),
                None,
            )
            if item is None:
                raise BadCorrectionError(
                    label,
                    f"line {line_id!r} is not in sample {sid}",
                    "use the line ids of `minqing spotcheck sheet`",
                )
            ref = cer_text(text)
            if not ref:
                raise BadCorrectionError(
                    label,
                    f"the transcription of {line_id} is empty",
                    "type the characters of the line as written",
                )
            archive.db.table(ITEMS).update(
                (sid, line_id),
                {
                    "transcription": text.strip(),
                    "ref_chars": len(ref),
                    "errors": edit_distance(cer_text(item["shown_text"]), ref),
                    "machine_errors": edit_distance(cer_text(item["machine_text"]), ref),
                    "recorded_at": records.now(),
                    "who": who,
                },
            )
            if fix_archive:
                lid = (
                    corrections.resolve_anchor(
                        archive,
                        item["book_id"],
                        corrections.Anchor(
                            item["page_id"],
                            item["page_sha"] or "",
                            (item["x0"], item["y0"], item["x1"], item["y1"]),
                        ),
                    )
                    if item["x0"] is not None
                    else line_id
                )
                if lid is not None:
                    cur = next(
                        archive.db.query(f"select text from {LINES} where line_id = ?", [lid])
                    )["text"]
                    if cer_text(cur) != ref:
                        corrections._correct_line(archive, lid, text, who, None)
            n += 1
    return n


# -- the estimate --------------------------------------------------------------------------


def ratio_estimate(items: Sequence[dict[str, Any]], err_key: str = "errors") -> dict[str, Any]:
    """Stratified ratio estimate of CER with a 95% interval from recorded items.

    Each item needs ``stratum``, ``population`` (N_h), ``ref_chars`` and ``err_key``.
    """
    done = [it for it in items if it.get("ref_chars") is not None]
    if not done:
        return {"cer": None, "lo": None, "hi": None, "lines": 0, "chars": 0, "errors": 0}
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for it in done:
        by[it["stratum"]].append(it)
    E = C = 0.0
    for its in by.values():
        w = its[0]["population"] / len(its)
        E += w * sum(it[err_key] for it in its)
        C += w * sum(it["ref_chars"] for it in its)
    R = E / C if C else 0.0
    var = 0.0
    for its in by.values():
        n_h, N_h = len(its), its[0]["population"]
        if n_h < 2:
            continue
        d = [it[err_key] - R * it["ref_chars"] for it in its]
        mean = sum(d) / n_h
        s2 = sum((x - mean) ** 2 for x in d) / (n_h - 1)
        var += N_h**2 * max(0.0, 1 - n_h / N_h) * s2 / n_h
    var /= C**2 if C else 1
    half = Z95 * math.sqrt(var)
    chars = sum(it["ref_chars"] for it in done)
    errors = sum(it[err_key] for it in done)
    lo, hi = max(0.0, R - half), R + half
    if errors == 0:
        hi = max(hi, 3.0 / chars)
    return {"cer": R, "lo": lo, "hi": hi, "lines": len(done), "chars": chars, "errors": errors}


def report(archive: Archive, sid: int) -> dict[str, Any]:
    """The sample's CER estimate overall and per book, verdict and worst books."""
    s = _sample(archive, sid)
    items = list(archive.db.query(f"select * from {ITEMS} where sample_id = ?", [sid]))
    overall = ratio_estimate(items)
    machine = ratio_estimate(items, "machine_errors")
    thr = s["threshold"]
    books = []
    for b in sorted({it["book_id"] for it in items}):
        est = ratio_estimate([it for it in items if it["book_id"] == b])
        est["book_id"] = b
        est["sampled"] = sum(1 for it in items if it["book_id"] == b)
        est["verdict"] = None if est["cer"] is None else ("pass" if est["cer"] <= thr else "fail")
        books.append(est)
    recorded = overall["lines"]
    verdict = (
        "incomplete" if recorded < len(items) else ("pass" if overall["cer"] <= thr else "fail")
    )
    worst = sorted(
        (b for b in books if b["cer"] is not None and b["cer"] > thr), key=lambda b: -b["cer"]
    )
    return {
        "sample_id": sid,
        "mode": s["mode"],
        "scope": json.loads(s["scope"] or "{}"),
        "seed": s["seed"],
        "threshold": thr,
        "size": len(items),
        "recorded": recorded,
        "population_lines": s["population_lines"],
        "population_pages": s["population_pages"],
        "pages_sampled": len({it["page_id"] for it in items}),
        "overall": overall,
        "machine": machine,
        "books": books,
        "verdict": verdict,
        "confident": overall["cer"] is not None and (overall["hi"] <= thr or overall["lo"] > thr),
        "worst_books": [b["book_id"] for b in worst] if verdict == "fail" else [],
    }


def list_samples(archive: Archive) -> list[dict[str, Any]]:
    """Every sample with its size, progress and verdict."""
    out = []
    for s in archive.db.query(f"select * from {SAMPLES} order by sample_id desc"):
        rep = report(archive, s["sample_id"])
        out.append(
            {
                **s,
                "recorded": rep["recorded"],
                "verdict": rep["verdict"],
                "cer": rep["overall"]["cer"],
                "lo": rep["overall"]["lo"],
                "hi": rep["overall"]["hi"],
            }
        )
    return out


def sample_view(archive: Archive, sid: int) -> dict[str, Any]:
    """The sample and its items for transcription (engine text hidden in blind mode)."""
    s = _sample(archive, sid)
    items = list(
        archive.db.query(
            f"select i.*, p.width, p.height, p.page_no, b.cadre, b.village from {ITEMS} i "
            f"left join {PAGES} p on p.page_id = i.page_id "
            f"left join {BOOKS} b on b.book_id = i.book_id "
            "where sample_id = ? order by i.book_id, p.page_no, i.y0, i.line_id",
            [sid],
        )
    )
    if s["mode"] == "blind":
        for it in items:
            if it["transcription"] is None:
                it["shown_text"] = it["machine_text"] = None
    return {"sample": s, "items": items}


# -- calibration ---------------------------------------------------------------------------


def calibrate(archive: Archive, sample_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """How engine confidence relates to real errors, from recorded spot-check lines.

    Per confidence bin: lines, characters, engine errors and CER; bins are pooled
    (pool-adjacent-violators) so that the CER never rises with confidence. Written to
    ``ocr_calibration`` so that :func:`minqing.review.corrections.review_queue` orders pages by
    expected errors.
    """
    where, params = "", []
    if sample_ids:
        where = f" and sample_id in ({','.join('?' * len(sample_ids))})"
        params = list(sample_ids)
    items = list(
        archive.db.query(
            f"select confidence, ref_chars, machine_errors from {ITEMS} "
            f"where ref_chars is not null{where}",
            params,
        )
    )
    bins = []
    for lo, hi in itertools.pairwise(CAL_BINS):
        its = [i for i in items if lo <= (i["confidence"] or 0.0) < hi]
        if its:
            bins.append(
                {
                    "lo": lo,
                    "hi": hi,
                    "lines": len(its),
                    "chars": sum(i["ref_chars"] for i in its),
                    "errors": sum(i["machine_errors"] for i in its),
                }
            )
    # pool adjacent violators: CER must not increase with confidence
    merged: list[dict[str, Any]] = []
    for b in bins:
        merged.append(dict(b))
        while len(merged) > 1 and merged[-2]["errors"] / max(merged[-2]["chars"], 1) < merged[-1][
            "errors"
        ] / max(merged[-1]["chars"], 1):
            top = merged.pop()
            prev = merged[-1]
            prev.update(
                hi=top["hi"],
                lines=prev["lines"] + top["lines"],
                chars=prev["chars"] + top["chars"],
                errors=prev["errors"] + top["errors"],
            )
    for b in merged:
        b["cer"] = b["errors"] / b["chars"] if b["chars"] else 0.0
        b["updated_at"] = records.now()
    with archive.db.atomic():
        archive.db.execute(f"delete from {CALIBRATION}")
        if merged:
            archive.db.table(CALIBRATION).insert_all(merged, pk="lo")
    return merged
