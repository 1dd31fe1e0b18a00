"""What a front door configured for the artifacts an export produces: the keys that sign them
and how transcripts are split and rendered. Read once at the door, handed to every producer."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_VOLUME_CONVERSATIONS = 200


def usable_cpus() -> int:
    """The CPUs this process may use."""
    return len(os.sched_getaffinity(0))


@dataclass(frozen=True)
class ProducerOptions:
    """Signing keys (None: unsigned) and transcript volumes."""

    # Ed25519 PEM private key signing provenance statements (KEEPTRUSTS_SIGNING_KEY).
    signing_key: Path | None = None
    # PEM private key and certificate signing standalone PDF reports (PAdES).
    pdf_signing_key: Path | None = None
    pdf_signing_cert: Path | None = None
    # Volumes rendered at once, each in its own process (about 300 MB each).
    transcript_workers: int = 1
    # Conversations per transcript PDF volume.
    volume_conversations: int = DEFAULT_VOLUME_CONVERSATIONS
