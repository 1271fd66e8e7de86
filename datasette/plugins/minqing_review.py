"""Review pages: correct OCR lines and entries beside the page image (issue 7).

A thin adapter over :mod:`minqing.review.corrections` and :mod:`minqing.review.spotcheck`.
Every route checks the ``minqing-review`` permission itself (plugin routes bypass the
instance-wide checks); saves are CSRF-protected POSTs (asgi-csrf, ``csrftoken``
field), each ONE transaction on Datasette's write thread. A form carries the value the
reviewer saw; when someone else saved first the answer is 409 with a clear message.

``/-/review``                         the queue: flagged pages, then expected errors
``/-/review/page/<book>/<page_no>``   page image with line boxes beside editable lines
``/-/review/entry/<entry_id>``        redirect to the page of the entry's first line
``/-/review/save``                    POST: one correction (``action`` = line, entry,
                                      link, split, merge, move_prev, move_next)
``/-/spotcheck``, ``/-/spotcheck/<id>``  samples, reports, and blind transcription
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import urllib.parse

from datasette import Forbidden, NotFound, hookimpl
from datasette.utils.asgi import Response

from minqing.archive.errors import BadCorrectionError
from minqing.archive.store import Archive
from minqing.classify.types import CATEGORIES, STATUSES
from minqing.review import corrections, spotcheck
from minqing.web import access, guard, presentation

DB = "archive"
ACTION = "minqing-review"
READ_ONLY = "档案以只读方式提供（只读文件夹或磁盘已满），无法保存"


def _db(datasette):
    try:
        return datasette.get_database(DB)
    except KeyError:
        raise NotFound("没有档案库 (no archive database)") from None


async def _require(datasette, request) -> str:
    """Raise Forbidden unless the actor may review; return the reviewer's name."""
    if not await datasette.permission_allowed(request.actor, ACTION, default=False):
        raise Forbidden(
            "校对页面需要校对员权限：请用校对员账号登录，或请管理员为您的账号开通校对权限。"
        )
    actor = request.actor or {}
    return str(actor.get("id") or "local")


def _trusted(fn):
    """Run ``fn`` over a Datasette connection without the authorizer that hides columns
    from visitors' SQL (spot-check engine text): the review library needs them."""

    def run(conn):
        conn.set_authorizer(None)
        try:
            return fn(Archive(conn))
        finally:
            conn.set_authorizer(access.hide_secrets_authorizer)

    return run


async def _read(datasette, fn):
    db = _db(datasette)
    return await db.execute_fn(_trusted(fn))


async def _write(datasette, fn):
    db = _db(datasette)
    if not db.is_mutable:
        raise ReadOnlyArchive()
    return await db.execute_write_fn(_trusted(fn), block=True)


_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None


def _warm_classifier(datasette) -> threading.Thread | None:
    """Fit the shipped classifier models in the background, once per process.

    A save re-classifies the entry it touches, and the models are fitted on first use:
    seconds, tens of seconds on a busy machine, which the first save after ``minqing serve``
    started used to wait in full. Started when a reviewer opens the queue, a review page or
    a spot-check page of a writable archive, so it is done by the time they save; a save
    waits for it rather than fitting the models a second time.
    """
    global _warm_thread
    try:
        if not _db(datasette).is_mutable:
            return None
    except NotFound:
        return None
    with _warm_lock:
        if _warm_thread is None:

            def fit() -> None:
                from minqing.classify.model import default_category_model, default_status_model

                try:
                    default_category_model()
                    default_status_model()
                except Exception:  # the save that needs them reports it
                    pass

            _warm_thread = threading.Thread(target=fit, name="minqing-warm-models", daemon=True)
            _warm_thread.start()
        return _warm_thread


async def _models_ready(datasette) -> None:
    thread = _warm_classifier(datasette)
    if thread is not None and thread.is_alive():
        await asyncio.get_running_loop().run_in_executor(None, thread.join)


class ReadOnlyArchive(Exception):
    """The archive is served read-only (read-only folder or full disk): nothing can be saved."""


def _text(exc: Exception) -> str:
    """What a visitor reads about a failed save: the problem and the hint, never a server path."""
    problem = getattr(exc, "problem", None)
    if problem is None:
        return str(exc)
    hint = getattr(exc, "hint", "")
    return problem + (f" ({hint})" if hint else "")


def page_url(book_id: str, page_no: int, focus: str | None = None) -> str:
    """The review page of a page (optionally focusing a line's input)."""
    url = f"/-/review/page/{urllib.parse.quote(book_id, safe='')}/{int(page_no)}"
    return url + ("?" + urllib.parse.urlencode({"focus": focus}) if focus else "")


def _image_url(page_id: str) -> str:
    return "/-/page-image/" + urllib.parse.quote(page_id, safe="/")


async def queue_page(datasette, request):
    await _require(datasette, request)
    _warm_classifier(datasette)  # a reviewer on the queue is about to save
    chosen = {k: request.args.get(k) or None for k in ("book", "cadre", "township")}
    items = await _read(datasette, lambda a: corrections.review_queue(a, **chosen, limit=200))
    choices = await _read(datasette, corrections.book_choices)
    for b in choices["books"]:
        b["label"] = presentation.book_label(b["cadre"], b["village"], b["book_id"])
    for it in items:
        it["url"] = page_url(it["book_id"], it["page_no"])
        it["label"] = presentation.book_label(it["cadre"], it["village"], it["book_id"])
        it["flag_words"] = presentation.flag_words(it["flags"])
        it["sure"] = (
            f"{round(100 * it['min_confidence'])}%" if it["min_confidence"] is not None else "—"
        )
    return Response.html(
        await datasette.render_template(
            "review_queue.html",
            {
                "items": items,
                "chosen": chosen,
                "choices": choices,
                "filtered": any(chosen.values()),
            },
            request=request,
        )
    )


async def entry_redirect(datasette, request):
    await _require(datasette, request)
    eid = urllib.parse.unquote(request.url_vars["entry_id"])

    def find(a):
        return next(
            iter(
                a.db.query(
                    "select l.book_id, l.page_no, l.line_id from lines l where l.entry_id = ? "
                    "order by page_no, line_no limit 1",
                    [eid],
                )
            ),
            None,
        )

    row = await _read(datasette, find)
    if row is None:
        raise NotFound(f"没有条目 {eid}")
    return Response.redirect(page_url(row["book_id"], row["page_no"], row["line_id"]))


async def review_page(datasette, request):
    await _require(datasette, request)
    _warm_classifier(datasette)
    book = urllib.parse.unquote(request.url_vars["book"])
    page_no = int(request.url_vars["page_no"])
    try:
        view = await _read(datasette, lambda a: corrections.page_view(a, book, page_no))
    except corrections.TargetNotFoundError as exc:
        raise NotFound(str(exc)) from None
    page = view["page"]
    for e in view["entries"]:
        e["label"] = presentation.entry_label(e)
    first = view["entries"][0] if view["entries"] else {}
    page["book_label"] = presentation.book_label(first.get("cadre"), first.get("village"), book)
    entry_index = {e["entry_id"]: i for i, e in enumerate(view["entries"])}
    for ln in view["lines"]:
        ln["entry_index"] = entry_index.get(ln["entry_id"], -1)
        e = view["entries"][ln["entry_index"]] if ln["entry_index"] >= 0 else None
        ln["can_split"] = bool(e and e["first_line"] != ln["line_id"])
        ln["can_move_prev"] = bool(e and e["first_line"] == ln["line_id"] and not e["is_first"])
        ln["can_move_next"] = bool(
            e
            and e["last_line"] == ln["line_id"]
            and not e["is_last"]
            and len(json.loads(e["line_ids"])) > 1
        )
        ln["rev"] = e["rev"] if e else ""
        ln["low"] = ln["confidence"] is not None and ln["confidence"] < 0.9 and not ln["corrected"]
        ln["sure"] = presentation.confidence_words(ln["confidence"])
    for e in view["entries"]:
        e["sure"] = f"把握 {round(100 * (e['category_score'] or 0))}%"
    for h in view["history"]:
        h["when"] = presentation.local_time(h["at"])
    checked = sum(1 for ln in view["lines"] if ln["corrected"])
    ctx = {
        "checked": checked,
        "flag_words": presentation.flag_words(json.loads(page["quality_flags"] or "{}")),
        "view": view,
        "page": page,
        "image_url": _image_url(page["page_id"]),
        "self_url": page_url(book, page_no),
        "prev_url": page_url(book, page_no - 1) if page_no > 1 else None,
        "next_url": page_url(book, page_no + 1) if page_no < (view["pages_in_book"] or 0) else None,
        "categories": CATEGORIES,
        "statuses": STATUSES,
        "focus": request.args.get("focus") or "",
        "message": request.args.get("msg") or "",
        "flags": json.loads(page["quality_flags"] or "{}"),
    }
    return Response.html(await datasette.render_template("review.html", ctx, request=request))


def _message(datasette, request, status: int, title: str, text: str, back: str):
    async def render():
        if "application/json" in (request.headers.get("accept") or ""):
            return Response.json({"ok": False, "error": text, "status": status}, status=status)
        return Response.html(
            await datasette.render_template(
                "review_message.html", {"title": title, "text": text, "back": back}, request=request
            ),
            status=status,
        )

    return render()


def _safe_back(value: str | None) -> str:
    value = guard.safe_next(value)
    if value.startswith("/-/review") and "//" not in value:
        return value
    return "/-/review"


async def save(datasette, request):
    who = await _require(datasette, request)
    if request.method != "POST":
        return Response.redirect("/-/review")
    form = await request.post_vars()
    action = form.get("action", "")
    back = _safe_back(form.get("back"))
    focus = form.get("next_focus") or None

    def op(a):
        if action == "line":
            return corrections.check_line(
                a, form["line_id"], form.get("text", ""), who=who, expected=form.get("expected")
            )
        if action == "entry":
            exp = {k: form.get("expected_" + k) for k in ("category_code", "status_code", "date")}
            values = {
                "category": form.get("category_code")
                if form.get("category_code") != exp["category_code"] or form.get("confirm")
                else None,
                "status": form.get("status_code")
                if form.get("status_code") != exp["status_code"] or form.get("confirm")
                else None,
                "date": form.get("date")
                if (form.get("date") or "") != (exp["date"] or "")
                else None,
            }
            return corrections.update_entry(a, form["entry_id"], who=who, expected=exp, **values)
        if action == "link":
            return corrections.confirm_link(
                a,
                form["entry_id"],
                form.get("parent") or None,
                who=who,
                expected=form.get("expected", ""),
            )
        if action == "split":
            return corrections.split_entry(
                a, form["entry_id"], form["line_id"], who=who, expected=form.get("rev")
            )
        if action == "merge":
            return corrections.merge_with_next(
                a, form["entry_id"], who=who, expected=form.get("rev")
            )
        if action in ("move_prev", "move_next"):
            return corrections.move_line(
                a, form["line_id"], action[5:], who=who, expected=form.get("rev")
            )
        raise BadCorrectionError("form", f"unknown action {action!r}", "reload the page")

    try:
        await _models_ready(datasette)
        result = await _write(datasette, op)
    except ReadOnlyArchive:
        return await _message(datasette, request, 503, "只读档案", READ_ONLY, back)
    except corrections.StaleEditError as exc:
        return await _message(datasette, request, 409, "别人已先修改", _text(exc), back)
    except corrections.TargetNotFoundError as exc:
        return await _message(datasette, request, 404, "找不到", _text(exc), back)
    except (BadCorrectionError, KeyError, ValueError) as exc:
        return await _message(datasette, request, 400, "无法保存", _text(exc), back)
    if "application/json" in (request.headers.get("accept") or ""):
        return Response.json({"ok": True, "result": result if isinstance(result, str) else None})
    url = back.split("?")[0] + (f"?{urllib.parse.urlencode({'focus': focus})}" if focus else "")
    return Response.redirect(url, status=303)


# -- spot-check pages ----------------------------------------------------------------------


def _draw_args(form) -> dict:
    """The spot-check form's fields as :func:`spotcheck.new_sample` arguments; raises
    ValueError (in Chinese) on a value a person could mistype."""
    args: dict = {"mode": "verify" if form.get("mode") == "verify" else "blind"}
    size = (form.get("size") or "").strip()
    if size:
        if not size.isdigit() or int(size) < 1:
            raise ValueError(f"样本行数“{size}”不是正整数：请填写如 200，或留空按抽样方案定")
        args["size"] = int(size)
    threshold = (form.get("threshold") or "").strip()
    if threshold:
        try:
            args["threshold"] = float(threshold) / 100
        except ValueError:
            raise ValueError(f"合格阈值“{threshold}”不是数字：请填写百分数，如 3") from None
        if not 0 < args["threshold"] < 1:
            raise ValueError(f"合格阈值“{threshold}%”须在 0 到 100 之间，如 3")
    for key in ("date_from", "date_to"):
        value = (form.get(key) or "").strip()
        if value:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"日期“{value}”无法识别：请写成 2024-03-01 的形式") from None
            args[key] = value
    if form.get("book"):
        args["books"] = [form["book"]]
    if form.get("township"):
        args["townships"] = [form["township"]]
    return args


async def spotcheck_list(datasette, request):
    who = await _require(datasette, request)
    _warm_classifier(datasette)
    form_values: dict = {}
    error = ""
    if request.method == "POST":
        form = await request.post_vars()
        form_values = dict(form)
        try:
            args = _draw_args(form)
            sid = await _write(datasette, lambda a: spotcheck.new_sample(a, who=who, **args))
        except ReadOnlyArchive:
            error = READ_ONLY
        except ValueError as exc:
            error = str(exc)
        except BadCorrectionError as exc:
            error = "所选范围内没有可抽检的文字行：请换一个日记本、乡镇或日期范围"
            if "no lines" not in str(exc):
                error = _text(exc)
        else:
            return Response.redirect(f"/-/spotcheck/{sid}", status=303)
    samples = await _read(datasette, spotcheck.list_samples)
    choices = await _read(datasette, corrections.book_choices)
    for b in choices["books"]:
        b["label"] = presentation.book_label(b["cadre"], b["village"], b["book_id"])
    for s in samples:
        s["scope_words"] = presentation.scope_words(s["scope"], choices["books"])
        s["when"] = presentation.local_time(s["created_at"])
    return Response.html(
        await datasette.render_template(
            "review_spotcheck_list.html",
            {
                "samples": samples,
                "choices": choices,
                "form": form_values,
                "error": error,
                "plan": {
                    "min_lines": spotcheck.DEFAULT_MIN_LINES,
                    "fraction": round(100 * spotcheck.DEFAULT_FRACTION),
                    "threshold": round(100 * spotcheck.DEFAULT_THRESHOLD, 1),
                },
            },
            request=request,
        ),
        status=400 if error else 200,
    )


async def spotcheck_sample(datasette, request):
    who = await _require(datasette, request)
    sid = int(request.url_vars["sample_id"])
    if request.method == "POST":
        form = await request.post_vars()
        rows = [(k[3:], v) for k, v in form.items() if k.startswith("tx_") and v.strip()]
        try:
            await _models_ready(datasette)  # a transcription corrects the archive's line too
            await _write(datasette, lambda a: spotcheck.record(a, sid, rows, who=who))
        except ReadOnlyArchive:
            return await _message(
                datasette, request, 503, "只读档案", READ_ONLY, f"/-/spotcheck/{sid}"
            )
        except BadCorrectionError as exc:
            return await _message(
                datasette, request, 400, "无法保存", _text(exc), f"/-/spotcheck/{sid}"
            )
        return Response.redirect(f"/-/spotcheck/{sid}", status=303)
    _warm_classifier(datasette)
    try:
        sample = await _read(datasette, lambda a: spotcheck.sample_view(a, sid))
        report = await _read(datasette, lambda a: spotcheck.report(a, sid))
    except BadCorrectionError as exc:
        raise NotFound(str(exc)) from None
    choices = await _read(datasette, corrections.book_choices)
    names = {
        b["book_id"]: presentation.book_label(b["cadre"], b["village"], b["book_id"])
        for b in choices["books"]
    }
    for it in sample["items"]:
        it["image_url"] = _image_url(it["page_id"])
        it["label"] = names.get(it["book_id"], it["book_id"]) + (
            f" 第{it['page_no']}页" if it.get("page_no") is not None else ""
        )
    for b in report["books"]:
        b["label"] = names.get(b["book_id"], b["book_id"])
    report["worst_labels"] = [names.get(b, b) for b in report["worst_books"]]
    info = {
        "scope_words": presentation.scope_words(report["scope"], choices["books"]),
        "when": presentation.local_time(sample["sample"]["created_at"]),
    }
    return Response.html(
        await datasette.render_template(
            "review_spotcheck.html",
            {"sample": sample, "report": report, "info": info},
            request=request,
        )
    )


@hookimpl
def register_routes():
    return [
        (r"^/-/review$", queue_page),
        (r"^/-/review/page/(?P<book>[^/]+)/(?P<page_no>\d+)$", review_page),
        (r"^/-/review/entry/(?P<entry_id>[^/]+)$", entry_redirect),
        (r"^/-/review/save$", save),
        (r"^/-/spotcheck$", spotcheck_list),
        (r"^/-/spotcheck/(?P<sample_id>\d+)$", spotcheck_sample),
    ]


@hookimpl
def menu_links(datasette, actor):
    async def inner():
        if await datasette.permission_allowed(actor, ACTION, default=False):
            return [
                {"href": "/-/review", "label": "校对队列 (review)"},
                {"href": "/-/spotcheck", "label": "抽检 (spot-check)"},
            ]
        return []

    return inner
