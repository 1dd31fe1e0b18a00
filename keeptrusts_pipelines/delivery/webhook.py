"""Export notifications: a JSON body signed with HMAC-SHA256, posted with retries and backoff.

The receiver checks `X-Keeptrusts-Signature: sha256=<hex>` over `<timestamp>.<body>`, with the
timestamp from `X-Keeptrusts-Timestamp`, so a captured body cannot be replayed later unnoticed.
Bodies hold ids, counts and hashes only, never event content.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

ATTEMPTS = 4
FIRST_BACKOFF_SECONDS = 0.5
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    attempts: int
    status_code: int | None
    error: str | None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def notify(
    url: str,
    secret: str,
    payload: dict[str, object],
    attempts: int = ATTEMPTS,
    backoff: float = FIRST_BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST `payload`; retry on connection errors and 5xx/429 with doubling waits. Never raises."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    status, error = None, None
    for attempt in range(1, attempts + 1):
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "keeptrusts-pipelines",
            "X-Keeptrusts-Timestamp": timestamp,
            "X-Keeptrusts-Signature": signature(secret, timestamp, body),
        }
        try:
            response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT_SECONDS)
            status, error = response.status_code, None
            if response.ok:
                return Delivery(True, attempt, status, None)
            if status < 500 and status != 429:
                return Delivery(False, attempt, status, f"HTTP {status}: the receiver refused it")
            error = f"HTTP {status}"
        except requests.RequestException as failure:
            status, error = None, type(failure).__name__
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return Delivery(False, attempts, status, error)
