"""Typed errors raised by the library; only the edges (page, command line) turn them into messages."""

from __future__ import annotations


class TimelineError(Exception):
    """Base of every error this package raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        self.hint = hint

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class BadInputError(TimelineError):
    """The input file cannot be used at all (empty, not text, no date column, too large...)."""


class UsageError(TimelineError):
    """A caller asked for something that does not exist or is not allowed (bad mapping, zone...)."""


class InvalidDatasetId(UsageError):
    """A dataset or version id is not a slug, so it could point outside the store."""


class DatasetNotFound(UsageError):
    """No such dataset or version in the store."""
