"""The code version evidence records: the package version and a fingerprint of the code and
SQL that produced it, so two bundles can be compared without a source checkout."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.metadata import version
from pathlib import Path

from keeptrusts_pipelines.queries import SQL_DIR

PACKAGE_DIR = Path(__file__).resolve().parents[1]
SUFFIXES = (".py", ".sql", ".yaml", ".j2")
GENERATOR = "keeptrusts-pipelines"


def generator_version() -> str:
    return version(GENERATOR)


@cache
def code_fingerprint() -> str:
    """sha256 over every source, SQL, catalog and template file (path and content)."""
    digest = hashlib.sha256()
    for root in (PACKAGE_DIR, SQL_DIR):
        for path in sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES):
            if "__pycache__" in path.parts:
                continue
            relative = path.relative_to(root.parent).as_posix()
            digest.update(f"{relative}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()


def code_version() -> str:
    return f"{generator_version()}+{code_fingerprint()[:16]}"
