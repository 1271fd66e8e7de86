"""The ``minqing`` command line: a thin click layer over the stage libraries.

Commands live in ``minqing/cmd_*.py`` modules, each defining a click command (or
group) named ``command``; they are registered here automatically so that work on
one command never touches another's module.
"""

from __future__ import annotations

import importlib
import pkgutil

import click

import minqing
from minqing.errors import ExitCodeGroup, debug_option

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.group(cls=ExitCodeGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(minqing.__version__, prog_name="minqing")
@debug_option
def cli() -> None:
    """minqing: scans of handwritten 民情日记 notebooks in, a searchable archive out.

    \b
    Typical use:
        minqing ingest scans/ --archive archive/
        minqing serve --archive archive/
        minqing export entries --archive archive/ --format jsonl
    """


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(minqing.__path__), key=lambda i: i.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"minqing.{info.name}")
            command = module.command
            cli.add_command(command)


_register_commands()
