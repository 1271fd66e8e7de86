"""``minqing search``: search an archive from a terminal (issue 17)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from minqing.archive.errors import ArchiveError
from minqing.archive.search import Span, search
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option


def _marked(text: str, spans: list[Span], width: int = 30) -> str:
    """A one-line excerpt around the first span: hits in 【】, an alternate read as 饺[饮]."""
    text = re.sub(r"\s+", " ", text)
    if not spans:
        return text[: 2 * width]
    start = max(0, spans[0][0] - width // 2)
    end = min(len(text), start + 2 * width)
    out, pos = [], start
    for s, e, used in spans:
        if s < pos or s >= end:
            continue
        alt = dict(used)
        out.append(text[pos:s])
        out.append(
            "【"
            + "".join(text[k] + (f"[{alt[k]}]" if k in alt else "") for k in range(s, min(e, end)))
            + "】"
        )
        pos = min(e, end)
    out.append(text[pos:end])
    return ("…" if start else "") + "".join(out) + ("…" if end < len(text) else "")


@click.command(name="search")
@click.argument("query")
@archive_option
@click.option("--exact", is_flag=True, help="Only entries whose read text holds every word.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def command(query: str, archive_dir: Path, exact: bool, limit: int) -> None:
    """Search the entries of an archive, as the web archive's search does.

    Exact hits come first (newest first), then "可能的匹配": entries that hold the
    words only if a character the recogniser was unsure of is read as its next
    likeliest character, shown as 饺[饮] (read 饺, maybe 饮). One hit per line, tab
    separated: match kind, entry id, date, excerpt with the hits in 【】.

    \b
    Example:
        minqing search 饮水 --archive archive
        minqing search "饮水 村民" --archive archive --exact --limit 5
    """
    try:
        archive = Archive(archive_dir)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    try:
        res = search(
            archive.db.conn,
            query,
            columns="t.entry_id, t.date",
            order_by="t.date desc, t.entry_id",
            exact=exact,
            limit=limit,
        )
    finally:
        archive.close()
    for h in res.hits:
        kind = "可能的匹配" if h.alternate else "确切匹配"
        click.echo(
            f"{kind}\t{h.row['entry_id']}\t{h.row['date'] or '-'}\t{_marked(h.text, h.spans)}"
        )
    summary = f"{res.exact_count} exact"
    if not exact:
        summary += f", {res.alternate_count} possible (through alternates)"
    click.echo(f"{summary}; {len(res.hits)} shown", err=True)
