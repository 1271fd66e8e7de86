"""``minqing retrain``: learn categories from the reviewers' confirmed ones (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from minqing.archive import records
from minqing.archive.errors import ArchiveError
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option
from minqing.pipeline import MODEL_PATH  # where the trained model is written


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


@click.command(name="retrain")
@archive_option
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Cross-validation folds.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Fold shuffling seed.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Model file (default: ARCHIVE/{MODEL_PATH.as_posix()}).",
)
@click.option("--dry-run", is_flag=True, help="Report the accuracy only; write no model.")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
def command(
    archive_dir: Path, folds: int, seed: int, output: Path | None, dry_run: bool, as_json: bool
) -> None:
    """Train the category classifier on reviewer-confirmed categories.

    Reports k-fold cross-validated accuracy and macro-F1 of the lexicon alone
    (before) and of lexicon + trained model (after), then saves the model.

    \b
    Example:
        minqing retrain --archive archive/ --folds 5
    """
    from minqing.classify import cross_validate_category, train_category_model
    from minqing.classify.errors import CategoryModelError

    try:
        archive = Archive(archive_dir)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    try:
        rows = records.confirmed_categories(archive)
        root = archive.folder
    finally:
        archive.close()
    texts = [text for text, _ in rows]
    codes = [code for _, code in rows]
    try:
        ev = cross_validate_category(texts, codes, folds=folds, seed=seed)
        model = None if dry_run else train_category_model(texts, codes)
    except CategoryModelError as exc:
        raise MinqingError(
            f"{exc} ({len(rows)} confirmed categories in {archive_dir})",
            exit_code=ExitCode.nothing_to_do,
        ) from None
    path = None
    if model is not None:
        path = model.save(output or root / MODEL_PATH)
    if as_json:
        click.echo(
            json.dumps({**ev, "model_path": str(path) if path else None}, ensure_ascii=False)
        )
        return
    click.echo(f"{ev['n']} confirmed categories, {ev['folds']}-fold cross-validation:")
    for label, key in (
        ("before (lexicon):", "lexicon"),
        ("after (lexicon + model):", "combined"),
        ("model alone:", "model"),
    ):
        scores = ev[key]
        click.echo(
            f"  {label:<26} accuracy {_pct(scores['accuracy'])}, "
            f"macro-F1 {_pct(scores['macro_f1'])}"
        )
    if path:
        click.echo(f"model written to {path}", err=True)
