"""How this installation reaches S3-compatible storage (AWS, MinIO, R2): endpoint, default
region, checksum mode and Object Lock retention, read once by the front doors.

Kept apart from delivery/s3.py so a door can hold it without loading boto3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keeptrusts_pipelines.delivery.s3 import S3Target


@dataclass(frozen=True)
class S3Access:
    """The store's endpoint and defaults; a bucket and prefix make it a target."""

    region: str | None = None
    endpoint_url: str | None = None
    checksum: str = "sha256"
    lock_mode: str | None = None
    lock_days: int | None = None

    def target(self, bucket: str, prefix: str = "", region: str | None = None) -> S3Target:
        """A delivery target in `bucket`; `region` overrides the default one."""
        from keeptrusts_pipelines.delivery.s3 import S3Target

        return S3Target(
            bucket=bucket,
            prefix=prefix,
            region=region or self.region,
            endpoint_url=self.endpoint_url,
            checksum=self.checksum,
            lock_mode=self.lock_mode,
            lock_days=self.lock_days,
        )
