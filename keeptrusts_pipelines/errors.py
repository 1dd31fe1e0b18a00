"""The project's errors: each says what was wrong, with which value, and what to do."""

from __future__ import annotations


class KeeptrustsError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigurationError(KeeptrustsError):
    """A setting (environment variable, resource field, URL) cannot be used as given."""
