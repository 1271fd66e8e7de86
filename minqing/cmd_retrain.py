"""``minqing retrain``: adapt the category and status models to confirmed entries (issues 7, 13)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from minqing.archive import records
from minqing.archive.errors import ArchiveError
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option
from minqing.pipeline import MODEL_PATH, STATUS_MODEL_PATH  # where the models are written


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
    "--out",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Model file (default: ARCHIVE/{MODEL_PATH.as_posix()}).",
)
@click.option("--dry-run", is_flag=True, help="Report the accuracy only; write no model.")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
def command(
    archive_dir: Path, folds: int, seed: int, output: Path | None, dry_run: bool, as_json: bool
) -> None:
    """Adapt the category and status classifiers to reviewer-confirmed entries.

    Reports k-fold cross-validated accuracy and macro-F1 of the lexicon alone
    (before) and of lexicon + trained model (after) on the confirmed categories, then
    saves a category model fitted on the shipped training entries plus the confirmed
    ones (each confirmed entry counting three times), and likewise a status model when
    reviewers confirmed at least 10 statuses. The next ingest uses both.

    \b
    Example:
        minqing retrain --archive archive/ --folds 5
    """
    from minqing.classify import cross_validate_category, train_category_model, train_status_model
    from minqing.classify.errors import CategoryModelError
    from minqing.classify.model import MIN_EXAMPLES

    try:
        archive = Archive(archive_dir)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    try:
        rows = records.confirmed_categories(archive)
        srows = records.confirmed_statuses(archive)
        root = archive.folder
    finally:
        archive.close()
    texts = [text for text, _ in rows]
    codes = [code for _, code in rows]
    try:
        ev = cross_validate_category(texts, codes, folds=folds, seed=seed)
        model = None if dry_run else train_category_model(texts, codes, base=True)
        smodel = None
        if not dry_run and len(srows) >= MIN_EXAMPLES:
            smodel = train_status_model([text for text, _ in srows], [code for _, code in srows])
    except CategoryModelError as exc:
        raise MinqingError(
            f"{exc} ({len(rows)} confirmed categories in {archive_dir})",
            exit_code=ExitCode.nothing_to_do,
        ) from None
    path = spath = None
    if model is not None:
        path = model.save(output or root / MODEL_PATH)
    if smodel is not None:
        spath = smodel.save(
            (output.parent / STATUS_MODEL_PATH.name) if output else root / STATUS_MODEL_PATH
        )
    if as_json:
        click.echo(
            json.dumps(
                {
                    **ev,
                    "model_path": str(path) if path else None,
                    "confirmed_statuses": len(srows),
                    "status_model_path": str(spath) if spath else None,
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"{ev['n']} confirmed categories, {ev['folds']}-fold cross-validation:")
    click.echo(
        f"  before (lexicon):          accuracy {_pct(ev['lexicon']['accuracy'])}, "
        f"macro-F1 {_pct(ev['lexicon']['macro_f1'])}"
    )
    click.echo(
        f"  after (lexicon + model):   accuracy {_pct(ev['combined']['accuracy'])}, "
        f"macro-F1 {_pct(ev['combined']['macro_f1'])}"
    )
    click.echo(
        f"  model alone:               accuracy {_pct(ev['model']['accuracy'])}, "
        f"macro-F1 {_pct(ev['model']['macro_f1'])}"
    )
    click.echo(
        f"{len(srows)} confirmed statuses"
        + ("" if spath else f" (a status model needs {MIN_EXAMPLES})")
    )
    if path:
        click.echo(f"model written to {path}", err=True)
    if spath:
        click.echo(f"status model written to {spath}", err=True)
