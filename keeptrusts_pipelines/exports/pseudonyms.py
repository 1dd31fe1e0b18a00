"""Keyed pseudonyms: `[EMAIL:kqzmtbwd]` for one person, the same throughout an export.

An alias is HMAC-SHA256 under the export's key of the value's kind and normalised form, so it
cannot be reversed without the key, and no plain hash of the value equals it. With a configured
key (`KEEPTRUSTS_PSEUDONYM_KEY`) aliases are linkable across exports and a reviewer holding the
key can look one up; without one, each export draws a random key that is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

# Consonants only: no alias spells a word or holds a digit, so no rule can match inside one.
ALPHABET = "bcdfghjkmnpqrstvwxz"
ALIAS_LENGTH = 8
MARKER = re.compile(r"^\[([A-Z][A-Z_]*):([" + ALPHABET + r"]{" + str(ALIAS_LENGTH) + r"})\]$")
MINIMUM_KEY_BYTES = 16


@dataclass(frozen=True)
class PseudonymKey:
    """The export's pseudonym key, and whether it was configured (linkable across exports)."""

    secret: bytes
    configured: bool

    @classmethod
    def one_time(cls) -> PseudonymKey:
        return cls(secrets.token_bytes(32), configured=False)

    @property
    def key_id(self) -> str:
        """A fingerprint naming the key without revealing it."""
        return hmac.new(self.secret, b"keeptrusts pseudonym key id", hashlib.sha256).hexdigest()[
            :16
        ]

    def alias(self, kind: str, value: str) -> str:
        digest = hmac.new(self.secret, f"{kind}\x00{value}".encode(), hashlib.sha256).digest()
        number = int.from_bytes(digest[:8], "big")
        letters = []
        for _ in range(ALIAS_LENGTH):
            number, index = divmod(number, len(ALPHABET))
            letters.append(ALPHABET[index])
        return "".join(letters)

    def marker(self, kind: str, value: str) -> str:
        return f"[{kind}:{self.alias(kind, value)}]"

    def facts(self) -> dict[str, object]:
        """What an export's record says of its pseudonyms; the key itself never appears."""
        if not self.configured:
            return {
                "method": "HMAC-SHA256",
                "key": "one-time",
                "linkable_across_exports": False,
                "note": "not linkable across exports: the key was drawn for this export and "
                "not kept, so its aliases cannot be revealed",
            }
        return {
            "method": "HMAC-SHA256",
            "key": "configured",
            "key_id": self.key_id,
            "linkable_across_exports": True,
        }


def parse_marker(text: str) -> tuple[str, str] | None:
    """(kind, alias) of a pseudonym marker such as `[EMAIL:kqzmtbwd]`; None if it is not one."""
    match = MARKER.match(text.strip())
    return (match[1], match[2]) if match else None
