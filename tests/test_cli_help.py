"""Every command and subcommand has help text with an example."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from minqing.cli import cli


def all_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out.extend(all_commands(cmd, (*prefix, name)))
        else:
            out.append((*prefix, name))
    return out


EXPECTED = {
    "ingest",
    "ocr",
    "export",
    "serve",
    "demo",
    "compile",
    "books",
    "pages",
    "users",
    "corrections",
    "spotcheck",
    "retrain",
}


def test_core_commands_exist() -> None:
    assert set(cli.commands) >= EXPECTED


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p) or "minqing")
def test_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    cmd = cli
    for name in path:
        cmd = cmd.commands[name]  # type: ignore[attr-defined]
    assert cmd.help and len(cmd.help.strip()) > 20, f"{path} has no real help text"


def _command(path: tuple[str, ...]) -> click.Command:
    cmd: click.Command = cli
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    return cmd


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p) or "minqing")
def test_files_a_command_writes_are_given_the_same_way_everywhere(path: tuple[str, ...]) -> None:
    """-o/--output names what a command writes, and --out (the older spelling) still works."""
    for param in _command(path).params:
        if "-o" in getattr(param, "opts", ()):
            assert {"-o", "--output", "--out"} <= set(param.opts), (path, param.opts)
