"""minqing: turn scanned handwritten 民情日记 notebooks into a searchable archive."""

__version__ = "0.1.0"
