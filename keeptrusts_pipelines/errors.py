"""The project's errors: each says what was wrong, with which value, and what to do."""

from __future__ import annotations


class KeeptrustsError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigurationError(KeeptrustsError):
    """A setting (environment variable, resource field, URL) cannot be used as given."""


class ExportRequestError(KeeptrustsError):
    """An export request that cannot run as given; names the field and the fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
