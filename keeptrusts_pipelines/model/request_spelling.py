"""How the doors spell one field of an export request: `kt` flags and help, the key of request
files and run config, the Launchpad's field, description and pick-list.

Held in the metadata of `ExportRequest`'s and `Filters`' dataclass fields, so a field is
declared once and every door derives its options from there.
"""

from __future__ import annotations

import enum
import keyword
from collections.abc import Callable, Iterable
from dataclasses import dataclass

SPELLINGS = "spellings"  # the key of a dataclass field's metadata that holds its spellings


class Kind(enum.Enum):
    """What a plain field holds, which decides its type at every door."""

    WORD = "word"  # a short string: a name from a vocabulary, a date, a quick range
    VALUES = "values"  # filter values, any of which matches
    TEXT = "text"  # a label, a title, notes: bounded by `max_length`
    SWITCH = "switch"  # on or off


@dataclass(frozen=True)
class Spelling:
    """One plain field of a request as the doors name it."""

    kind: Kind
    flags: tuple[str, ...]  # kt's options; the first is the one kt writes back
    help: str | Callable[[], str]  # kt's help (a callable for help read from a registry)
    launchpad: str | Callable[[], str]  # the Launchpad's description
    key: str = ""  # request files' key; the dataclass field's name when empty
    default: object = None  # kt's and the Launchpad's default
    # The Launchpad's pick-list: its type name and its values.
    choices: tuple[str, Iterable[str] | Callable[[], Iterable[str]]] | None = None
    config_key: str = ""  # the run config's field when it is not `key`
    max_length: int = 0  # TEXT only
    in_preview: bool = True  # whether `kt export preview` takes it (labels do not count rows)
    same_as: str = ""  # a second kt spelling of the field `same_as` (`--date-from`): kt only
    group: str = ""  # the plain fields' object that holds it (`filters`); top level when empty

    @property
    def field(self) -> str:
        """The run config's (and the Launchpad's) name of the field."""
        return self.config_key or self.key

    @property
    def parameter(self) -> str:
        """The name of kt's parameter: the key, with `_` after a Python keyword (`from_`)."""
        return f"{self.key}_" if keyword.iskeyword(self.key) else self.key

    def help_text(self) -> str:
        return self.help() if callable(self.help) else self.help

    def launchpad_text(self) -> str:
        return self.launchpad() if callable(self.launchpad) else self.launchpad

    def choice_values(self) -> tuple[str, ...]:
        """The pick-list's values as they are now (a registry's are read when asked)."""
        if self.choices is None:
            return ()
        values = self.choices[1]
        return tuple(values() if callable(values) else values)
