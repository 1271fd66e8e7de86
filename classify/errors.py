"""Exceptions raised by the classify stage."""

from __future__ import annotations


class ClassifyError(Exception):
    """Base class of the classify stage's errors."""


class ClassifyDataError(ClassifyError):
    """A data file the stage ships (lexicon, user dictionary) is missing or malformed."""

    def __init__(self, path: str, problem: str, hint: str = "") -> None:
        self.path = path
        self.problem = problem
        self.hint = hint
        super().__init__(f"{path}: {problem}" + (f" ({hint})" if hint else ""))


class CategoryModelError(ClassifyError):
    """A category model file cannot be read, or a model cannot be trained from the data."""

    def __init__(self, path: str, problem: str, hint: str = "") -> None:
        self.path = path
        self.problem = problem
        self.hint = hint
        super().__init__(f"{path}: {problem}" + (f" ({hint})" if hint else ""))


class NotEnoughTrainingData(CategoryModelError):
    """Too few reviewer-confirmed categories to train a model."""
