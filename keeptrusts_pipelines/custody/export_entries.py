"""The custody entries of one export, each with the idempotency key that makes appending it
again a no-op. What counts as the same event twice is decided here, for every door: a retried
step, a sensor and a monitor may all try to record one failure, and the ledger keeps one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keeptrusts_pipelines.custody.ledger import CustodyLedger, Entry


@dataclass(frozen=True)
class ExportEntries:
    """Entries about export `export_id`, made by `actor` in run `run_id` (if any)."""

    ledger: CustodyLedger
    export_id: str
    actor: str
    run_id: str = ""

    def created(self, detail: dict[str, object] | None = None, per_run: bool = False) -> Entry:
        """An export is created once; a period's bundle (`per_run`) once by each run that
        builds it again."""
        key = f"created:{self.export_id}" + (f":{self.run_id}" if per_run else "")
        return self._append("created", key, detail=detail)

    def failed(self, reason: str | None = None) -> Entry:
        """Once per run, whoever notices first: the step, the failure sensor, the monitor."""
        detail = {"reason": reason} if reason else None
        return self._append("failed", f"failed:{self.run_id}", detail=detail)

    def completed(self, sha256: str, detail: dict[str, object]) -> Entry:
        key = f"completed:{self.export_id}:{sha256}"
        return self._append("completed", key, sha256=sha256, detail=detail)

    def delivered(self, sha256: str, detail: dict[str, object]) -> Entry:
        """Once per artifact: delivering the same bytes again records nothing new."""
        key = f"delivered:{self.export_id}:{sha256}"
        return self._append("delivered", key, sha256=sha256, detail=detail)

    def removed(self, action: str, sha256: str, now: datetime) -> Entry:
        """`expired` or `deleted`: an artifact goes once."""
        return self._append(action, f"{action}:{self.export_id}", sha256=sha256, now=now)

    def head(self) -> dict[str, object]:
        """The ledger's head as a provenance statement cites it."""
        return dict(zip(("sequence", "hash"), self.ledger.head(), strict=True))

    def _append(
        self,
        action: str,
        key: str,
        sha256: str = "",
        detail: dict[str, object] | None = None,
        now: datetime | None = None,
    ) -> Entry:
        return self.ledger.append(
            action,
            self.export_id,
            actor=self.actor,
            run_id=self.run_id,
            artifact_sha256=sha256,
            detail=detail,
            idempotency_key=key,
            now=now,
        )
