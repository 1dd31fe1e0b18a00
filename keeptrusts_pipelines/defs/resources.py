"""Resources: where events come from, the lake, exports, the custody ledger, the webhook.

Logic stays in the engine; resources only say where things are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.delivery.destination import SavedDestination, load_destination
from keeptrusts_pipelines.delivery.s3_access import S3Access
from keeptrusts_pipelines.delivery.target import open_target
from keeptrusts_pipelines.exports.producer_options import ProducerOptions
from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines.lake.location import open_lake
from keeptrusts_pipelines.settings import (
    DEFAULT_QUARANTINE_MAX_SHARE,
    exports_root,
    keeptrusts_home,
)
from keeptrusts_pipelines.sources.batch import EventSource

if TYPE_CHECKING:
    # Loaded when used: a run of one export needs neither the sources nor an S3 client.
    from keeptrusts_pipelines.custody.checkpoints import Checkpoint
    from keeptrusts_pipelines.delivery.target import DeliveryTarget
    from keeptrusts_pipelines.exports.redaction import RedactionConfig
    from keeptrusts_pipelines.settings import Settings


class EventSourceResource(dg.ConfigurableResource):
    """The gateway's events, chosen by URL: demo://, file://, s3://, postgresql+psycopg://, sqlite://."""

    url: str = Field(description="Source URL; may hold a password, so set it through an EnvVar.")
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, R2); AWS when unset."
    )

    def open(self) -> EventSource:
        from keeptrusts_pipelines.sources.registry import open_source

        return open_source(self.url, s3_endpoint_url=self.s3_endpoint_url)


class LakeResource(dg.ConfigurableResource):
    """The daily-partitioned Parquet lake: a folder (`KEEPTRUSTS_HOME/lake` by default) or an
    S3 prefix (`KEEPTRUSTS_LAKE_URL`)."""

    root: str = Field(
        description="Folder or s3://bucket/prefix holding one folder per table; S3 is reached "
        "through the standard AWS environment (AWS_ENDPOINT_URL, AWS_REGION, credentials)."
    )
    max_reject_share: float = Field(
        default=DEFAULT_QUARANTINE_MAX_SHARE,
        ge=0.0,
        le=1.0,
        description="Share of a day's records that may be quarantined before its check fails.",
    )
    retention_hours: int | None = Field(
        default=None, ge=24, description="Days older than this may be pruned; unset, none is."
    )
    legal_holds_file: str | None = Field(
        default=None, description="YAML file of legal holds (date ranges kept from pruning)."
    )
    legal_hold: bool = Field(default=False, description="Hold every day: nothing is pruned.")

    def layout(self) -> Lake:
        return open_lake(self.root)

    def holds_path(self) -> Path | None:
        return Path(self.legal_holds_file) if self.legal_holds_file else None


class ExportsResource(dg.ConfigurableResource):
    """Where export artifacts and their records live, and how long they are kept."""

    root: str = Field(description="Folder holding one folder per export id.")
    ttl_days: int = Field(default=7, ge=1, description="Days before an artifact expires.")
    part_bytes: int = Field(
        default=1 << 30, ge=1024, description="Size beyond which an export is split into parts."
    )

    destination_file: str | None = Field(
        default=None, description="The S3 destination saved by kt s3 configure (JSON), if any."
    )
    redaction_rules: str | None = Field(
        default=None, description="Redaction rules file replacing the packaged one."
    )
    redaction_regions: list[str] = Field(
        default=["ES"], description="Regions whose national phone numbers are redacted."
    )
    pseudonym_key: str | None = Field(
        default=None, description="Secret keying redaction's aliases; set it through an EnvVar."
    )
    signing_key: str | None = Field(
        default=None, description="Ed25519 PEM key signing provenance statements; unset, none."
    )
    pdf_signing_key: str | None = Field(
        default=None, description="PEM key signing PDF reports (PAdES); unset, none."
    )
    pdf_signing_cert: str | None = Field(
        default=None, description="PEM certificate of the PDF signing key; unset, self-issued."
    )
    transcript_workers: int = Field(
        default=1, ge=1, description="Transcript volumes rendered at once, a process each."
    )
    transcript_volume_conversations: int = Field(
        default=200, ge=1, description="Conversations per transcript PDF volume."
    )
    s3_region: str | None = Field(default=None, description="Deliveries' default region.")
    s3_endpoint_url: str | None = Field(
        default=None, description="MinIO/R2 endpoint of deliveries; AWS when unset."
    )
    s3_checksum: str = Field(
        default="sha256", description="sha256, or none for stores that refuse."
    )
    s3_lock_mode: str | None = Field(default=None, description="GOVERNANCE or COMPLIANCE.")
    s3_lock_days: int | None = Field(default=None, description="Object Lock retention in days.")

    @classmethod
    def from_settings(cls, settings: Settings, destination_file: str | None) -> ExportsResource:
        def shown(path: Path | None) -> str | None:
            return str(path) if path else None

        return cls(
            root=str(exports_root(settings.home)),
            ttl_days=settings.export_ttl_days,
            part_bytes=settings.export_part_bytes,
            destination_file=destination_file,
            redaction_rules=shown(settings.redaction_rules),
            redaction_regions=list(settings.redaction_regions),
            pseudonym_key=settings.pseudonym_key.decode() if settings.pseudonym_key else None,
            signing_key=shown(settings.signing_key),
            pdf_signing_key=shown(settings.pdf_signing_key),
            pdf_signing_cert=shown(settings.pdf_signing_cert),
            transcript_workers=settings.transcript_workers,
            transcript_volume_conversations=settings.transcript_volume_conversations,
            s3_region=settings.aws_region,
            s3_endpoint_url=settings.aws_endpoint_url,
            s3_checksum=settings.s3_checksum,
            s3_lock_mode=settings.s3_lock_mode,
            s3_lock_days=settings.s3_lock_days,
        )

    def path(self) -> Path:
        return Path(self.root)

    def producer_options(self) -> ProducerOptions:
        """Signing keys and transcript settings, as the export engine takes them."""

        def path(text: str | None) -> Path | None:
            return Path(text) if text else None

        return ProducerOptions(
            signing_key=path(self.signing_key),
            pdf_signing_key=path(self.pdf_signing_key),
            pdf_signing_cert=path(self.pdf_signing_cert),
            transcript_workers=self.transcript_workers,
            volume_conversations=self.transcript_volume_conversations,
        )

    def s3_access(self) -> S3Access:
        """How exports reach the S3 store they are delivered to."""
        return S3Access(
            self.s3_region,
            self.s3_endpoint_url,
            self.s3_checksum,
            self.s3_lock_mode,
            self.s3_lock_days,
        )

    def redaction(self) -> RedactionConfig:
        """The redaction settings, as the export engine takes them."""
        from keeptrusts_pipelines.exports.redaction import RedactionConfig

        return RedactionConfig(
            Path(self.redaction_rules) if self.redaction_rules else None,
            tuple(self.redaction_regions),
            self.pseudonym_key.encode() if self.pseudonym_key else None,
        )

    def saved_destination(self) -> SavedDestination | None:
        """Where every export is delivered unless it names a bucket or asks for none."""
        return load_destination(Path(self.destination_file)) if self.destination_file else None


class CustodyResource(dg.ConfigurableResource):
    """The hash-chained custody ledger (SQLite or PostgreSQL through SQLAlchemy)."""

    url: str = Field(
        description="SQLAlchemy URL; may hold a password, so set it through an EnvVar."
    )
    home: str | None = Field(
        default=None, description="KEEPTRUSTS_HOME, whose custody/checkpoints/ anchors the ledger."
    )
    signing_key: str | None = Field(
        default=None, description="Ed25519 PEM key signing checkpoints; unset, unsigned."
    )

    def ledger(self) -> CustodyLedger:
        return CustodyLedger(self.url)

    def checkpoint(self, ledger: CustodyLedger) -> Checkpoint | None:
        """The ledger's head, recorded in a checkpoint file (see custody/checkpoints.py)."""
        from keeptrusts_pipelines.custody.checkpoints import write_checkpoint

        home = Path(self.home) if self.home else keeptrusts_home()
        return write_checkpoint(ledger, home, Path(self.signing_key) if self.signing_key else None)


class WebhookResource(dg.ConfigurableResource):
    """Where export completions and failures are posted, signed with HMAC-SHA256."""

    url: str | None = Field(default=None, description="Receiver URL; unset, nothing is posted.")
    secret: str | None = Field(default=None, description="HMAC key; set it through an EnvVar.")


class EvidenceResource(dg.ConfigurableResource):
    """Where period evidence bundles are built: one folder per period."""

    root: str = Field(description="Folder holding `<period>-<key>/` folders of bundles.")
    signing_key: str | None = Field(
        default=None, description="Ed25519 PEM key signing checkpoints and provenance; unset, none."
    )

    def path(self) -> Path:
        return Path(self.root)


class DeliveryResource(dg.ConfigurableResource):
    """The target evidence is delivered to (S3-compatible: AWS, MinIO, R2); unset, none is."""

    url: str | None = Field(
        default=None,
        description="s3://bucket/prefix?region=REGION (KEEPTRUSTS_EVIDENCE_S3_URL); unset, "
        "nothing is delivered.",
    )
    region: str | None = Field(default=None, description="Region when the URL has none.")
    endpoint_url: str | None = Field(
        default=None, description="MinIO/R2 endpoint; AWS_ENDPOINT_URL when unset."
    )
    checksum: str = Field(default="sha256", description="sha256, or none for stores that refuse.")
    object_lock_mode: str | None = Field(default=None, description="GOVERNANCE or COMPLIANCE.")
    object_lock_days: int | None = Field(default=None, description="Retention in days.")

    @classmethod
    def for_url(cls, url: str, access: S3Access) -> DeliveryResource:
        return cls(
            url=url,
            region=access.region,
            endpoint_url=access.endpoint_url,
            checksum=access.checksum,
            object_lock_mode=access.lock_mode,
            object_lock_days=access.lock_days,
        )

    def target(self) -> DeliveryTarget | None:
        if not self.url:
            return None
        access = S3Access(
            self.region,
            self.endpoint_url,
            self.checksum,
            self.object_lock_mode,
            self.object_lock_days,
        )
        return open_target(self.url, access, "KEEPTRUSTS_EVIDENCE_S3_URL")
