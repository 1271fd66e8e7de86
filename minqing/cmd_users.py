"""``minqing users``: the accounts of the web archive (``minqing serve``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option
from minqing.web import access


def _open(archive_dir: Path) -> Path:
    """The archive folder, when it holds an archive (accounts live in its accounts.db)."""
    if not (Path(archive_dir) / "archive.db").is_file():
        raise MinqingError(
            f"{archive_dir}: no archive here (run `minqing ingest PATH --archive DIR` first)",
            exit_code=ExitCode.archive_error,
        )
    return Path(archive_dir)


def _unavailable(exc: access.AccountsUnavailableError) -> MinqingError:
    return MinqingError(str(exc), exit_code=ExitCode.archive_error)


@click.group(name="users")
def command() -> None:
    """Manage who may log in to the web archive.

    With no users, `minqing serve` is a local single-user archive (loopback only,
    no login). Accounts and sessions live in the archive folder's accounts.db (mode
    0600), never in the archive.db that Datasette publishes. With users, every page needs
    a login: role `inspector` reads and searches, role `reviewer` may also correct OCR and
    classifications.

    \b
    Example:
        minqing users add wang --role inspector --archive archive/
        minqing users list --archive archive/
    """


def _piped_password() -> str:
    """The password from piped standard input (first line; a second line must match)."""
    lines = sys.stdin.read().splitlines()
    if not lines or not lines[0]:
        raise MinqingError(
            "no password on standard input and no terminal to ask on; put it in the first "
            "line of a file and give --password-file FILE",
            exit_code=ExitCode.bad_data,
        )
    if len(lines) > 1 and lines[1] != lines[0]:
        raise MinqingError(
            "the two passwords on standard input differ; give it once with --password-file FILE",
            exit_code=ExitCode.bad_data,
        )
    return lines[0]


@command.command(name="add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(sorted(access.ROLES)),
    default="inspector",
    show_default=True,
    help="inspector: read and search; reviewer: also the review pages.",
)
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the password from the first line of this file instead of prompting.",
)
@archive_option
def add(name: str, role: str, password_file: Path | None, archive_dir: Path) -> None:
    """Add user NAME, or change an existing user's role and password.

    Prompts for the password twice unless --password-file is given; with no terminal
    (a script, a pipe) it reads the password from the first line of standard input
    (a second line, if any, must repeat it) - prefer --password-file there. Changing a
    password or role ends the user's open sessions.

    \b
    Example:
        minqing users add zhang --role reviewer --archive archive/
    """
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else ""
    elif not sys.stdin.isatty():
        password = _piped_password()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    root = _open(archive_dir)
    existed = access.get_user(root, name) is not None
    try:
        user = access.add_user(root, name, role, password)
    except access.AccountsUnavailableError as exc:
        raise _unavailable(exc) from exc
    except access.UserError as exc:
        where = f"{password_file}: " if password_file and "password" in str(exc) else ""
        raise MinqingError(where + str(exc), exit_code=ExitCode.bad_data) from exc
    click.echo(f"{'Updated' if existed else 'Added'} user {user.name} ({user.role})", err=True)


@command.command(name="list")
@archive_option
def list_(archive_dir: Path) -> None:
    """List the users: name, role, created (tab-separated, one per line).

    \b
    Example:
        minqing users list --archive archive/
    """
    users = access.list_users(_open(archive_dir))
    for u in users:
        click.echo(f"{u.name}\t{u.role}\t{u.created_at}")
    if not users:
        click.echo("No users: the archive is served to this machine only, without login.", err=True)


@command.command(name="remove")
@click.argument("name")
@archive_option
def remove(name: str, archive_dir: Path) -> None:
    """Remove user NAME; their open sessions end at once.

    \b
    Example:
        minqing users remove zhang --archive archive/
    """
    root = _open(archive_dir)
    try:
        access.remove_user(root, name)
    except access.AccountsUnavailableError as exc:
        raise _unavailable(exc) from exc
    except access.UserError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.bad_data) from exc
    left = len(access.list_users(root))
    click.echo(f"Removed user {name}", err=True)
    if not left:
        click.echo(
            "No users left: a running `minqing serve` keeps asking for a login (nobody can log "
            "in); restarted, it serves this machine only, without login.",
            err=True,
        )
