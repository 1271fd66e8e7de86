"""The classify stage's version (kept apart so that every module can import it)."""

from __future__ import annotations

#: bump whenever the stage's output may change; stored with every entry and in every
#: saved category model. A model file loads only under the same major version
#: (the number after ``classify-``, before the first dot).
CLASSIFIER_VERSION = "classify-1.2"


def version_major(version: str) -> str:
    """The major part of a classifier version: ``classify-1.0`` → ``1``."""
    return version.removeprefix("classify-").split(".", 1)[0]
