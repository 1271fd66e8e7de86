"""``python -m minqing``."""

from minqing.cli import cli

cli(prog_name="minqing")
