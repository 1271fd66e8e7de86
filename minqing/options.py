"""Option bundles shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

from minqing.archive.store import default_archive_path


def archive_option(func):
    """``--archive DIR``: the archive folder (``$MINQING_ARCHIVE``, else ``./minqing-archive``)."""
    return click.option(
        "--archive",
        "archive_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Archive folder (default: $MINQING_ARCHIVE or ./minqing-archive).",
        callback=lambda ctx, param, value: value or default_archive_path(),
    )(func)
