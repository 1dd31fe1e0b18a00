"""Where things live and the settings every front door shares, read from the environment.

The front doors (`kt`, the Dagster resources, the API) read `Settings.from_environment()` once
and pass values down; the engine below them reads no environment variable. Each reader below
takes the environment it reads, so one bad variable is one line naming it and the fix.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from keeptrusts_pipelines.errors import ConfigurationError

if TYPE_CHECKING:
    from keeptrusts_pipelines.delivery.s3_access import S3Access
    from keeptrusts_pipelines.exports.formats import FormatSources
    from keeptrusts_pipelines.exports.producer_options import ProducerOptions
    from keeptrusts_pipelines.exports.redaction import RedactionConfig

Environment = Mapping[str, str]

DEFAULT_HOME = "./var"
DEFAULT_PART_BYTES = 1 << 30
DEFAULT_REDACTION_REGION = "ES"
DEFAULT_QUARANTINE_MAX_SHARE = 0.01
DEFAULT_VERIFY_MAX_BYTES = 20 << 30
DEFAULT_VOLUME_CONVERSATIONS = 200
S3_CHECKSUM_MODES = ("sha256", "none")
S3_LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")


def keeptrusts_home(environ: Environment = os.environ) -> Path:
    """`KEEPTRUSTS_HOME` (default `./var`): lake, exports, custody database, Dagster home."""
    return Path(environ.get("KEEPTRUSTS_HOME", DEFAULT_HOME)).expanduser().resolve()


def lake_root(home: Path | None = None) -> Path:
    return (home or keeptrusts_home()) / "lake"


def lake_url(home: Path | None = None, environ: Environment = os.environ) -> str:
    """`KEEPTRUSTS_LAKE_URL`: a folder or `s3://bucket/prefix` (default: the lake folder under
    KEEPTRUSTS_HOME); a URL that cannot be used is one line naming the variable and the fix."""
    from keeptrusts_pipelines.lake.location import check_lake_url

    configured = environ.get("KEEPTRUSTS_LAKE_URL", "").strip()
    return check_lake_url(configured) if configured else str(lake_root(home))


def dagster_home(home: Path | None = None) -> Path:
    return (home or keeptrusts_home()) / "dagster"


def exports_root(home: Path | None = None) -> Path:
    return (home or keeptrusts_home()) / "exports"


def export_part_bytes(environ: Environment = os.environ) -> int:
    """`KEEPTRUSTS_EXPORT_PART_BYTES` (default 1 GiB): beyond this an export is split into parts."""
    text = environ.get("KEEPTRUSTS_EXPORT_PART_BYTES", str(DEFAULT_PART_BYTES))
    if not text.isdigit() or int(text) < 1024:
        raise ConfigurationError(
            f"KEEPTRUSTS_EXPORT_PART_BYTES={text!r}: use a whole number of bytes, at least 1024"
        )
    return int(text)


def requests_root(home: Path | None = None) -> Path:
    """Inbox of export request files (the programmatic API), picked up by a sensor."""
    return (home or keeptrusts_home()) / "requests"


def custody_url(home: Path | None = None, environ: Environment = os.environ) -> str:
    """`KEEPTRUSTS_CUSTODY_URL` (default SQLite under KEEPTRUSTS_HOME): the custody ledger."""
    configured = environ.get("KEEPTRUSTS_CUSTODY_URL")
    if configured:
        return configured
    root = home or keeptrusts_home()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'custody.db'}"


def export_ttl_days(environ: Environment = os.environ) -> int:
    """`KEEPTRUSTS_EXPORT_TTL_DAYS` (default 7): days an export's artifact is kept."""
    text = environ.get("KEEPTRUSTS_EXPORT_TTL_DAYS", "7")
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(
            f"KEEPTRUSTS_EXPORT_TTL_DAYS={text!r}: use a whole number of days, at least 1"
        )
    return int(text)


def dagster_url() -> str | None:
    """`KEEPTRUSTS_DAGSTER_URL`: a Dagster webserver kt submits to; unset, the one `kt ui` runs
    on this KEEPTRUSTS_HOME, if it is up; else none (the local instance, without a daemon)."""
    return os.environ.get("KEEPTRUSTS_DAGSTER_URL") or recorded_webserver()


# Where `kt ui` says which webserver (and daemon) it runs for this home, while it runs.
WEBSERVER_RECORD = "webserver.json"


def webserver_record_path() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or dagster_home()) / WEBSERVER_RECORD


def recorded_webserver() -> str | None:
    """The GraphQL URL `kt ui` recorded, while the process that recorded it is alive."""
    try:
        record = json.loads(webserver_record_path().read_text()[:4096])
        pid, url = int(record["pid"]), str(record["url"])
        os.kill(pid, 0)  # raises when that process has gone: a stale record
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if url.startswith("http://127.0.0.1:") else None


def evidence_root(home: Path | None = None) -> Path:
    """Period evidence bundles: one folder per period (`quarterly-2026-07-01/`)."""
    return (home or keeptrusts_home()) / "evidence"


def legal_holds_path(home: Path | None = None, environ: Environment = os.environ) -> Path:
    """`KEEPTRUSTS_LEGAL_HOLDS_FILE`, else `legal_holds.yaml` under KEEPTRUSTS_HOME."""
    configured = environ.get("KEEPTRUSTS_LEGAL_HOLDS_FILE")
    return Path(configured) if configured else (home or keeptrusts_home()) / "legal_holds.yaml"


def redaction_rules_path(environ: Environment = os.environ) -> Path | None:
    """`KEEPTRUSTS_REDACTION_RULES`: a redaction rules file replacing the packaged one."""
    configured = environ.get("KEEPTRUSTS_REDACTION_RULES")
    return Path(configured).expanduser() if configured else None


def redaction_regions(environ: Environment = os.environ) -> tuple[str, ...]:
    """`KEEPTRUSTS_REDACTION_DEFAULT_REGION` (default `ES`): the regions, comma-separated, whose
    national phone numbers (written without a country code) redaction recognises."""
    text = environ.get("KEEPTRUSTS_REDACTION_DEFAULT_REGION", DEFAULT_REDACTION_REGION)
    if text == DEFAULT_REDACTION_REGION:
        return (DEFAULT_REDACTION_REGION,)  # known good: no need to load libphonenumber
    import phonenumbers

    regions = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    unknown = [region for region in regions if region not in phonenumbers.SUPPORTED_REGIONS]
    if not regions or unknown:
        raise ConfigurationError(
            f"KEEPTRUSTS_REDACTION_DEFAULT_REGION={text!r}: use ISO 3166 region codes "
            "libphonenumber knows, comma-separated (ES, or ES,GB,FR)"
        )
    return regions


def pseudonym_key(environ: Environment = os.environ) -> bytes | None:
    """`KEEPTRUSTS_PSEUDONYM_KEY`: the secret keying redaction's aliases, so they are the same
    across exports and a reviewer can reveal one; unset, each export draws its own."""
    from keeptrusts_pipelines.exports.pseudonyms import MINIMUM_KEY_BYTES

    text = environ.get("KEEPTRUSTS_PSEUDONYM_KEY")
    if not text:
        return None
    key = text.encode()
    if len(key) < MINIMUM_KEY_BYTES:
        # The value is a secret: the message names its length, never the value.
        raise ConfigurationError(
            f"KEEPTRUSTS_PSEUDONYM_KEY is {len(key)} bytes: use a random secret of at least "
            f"{MINIMUM_KEY_BYTES} bytes (python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return key


def redaction_config(environ: Environment = os.environ) -> RedactionConfig:
    """The redaction settings together, as the export engine takes them."""
    return Settings.from_environment(environ).redaction()


DEFAULT_LAKE_START_DATE = "2025-01-01"
SETTINGS_FILE = "settings.json"


def settings_path(home: Path | None = None) -> Path:
    """`settings.json` under KEEPTRUSTS_HOME: settings `kt` writes for every door to read."""
    return (home or keeptrusts_home()) / SETTINGS_FILE


def lake_start_date(home: Path | None = None, environ: Environment = os.environ) -> date:
    """The lake's first day: `KEEPTRUSTS_LAKE_START_DATE`, else `lake_start_date` in
    settings.json (written by `kt demo`), else 2025-01-01."""
    configured = environ.get("KEEPTRUSTS_LAKE_START_DATE")
    where = "KEEPTRUSTS_LAKE_START_DATE"
    if not configured:
        path = settings_path(home)
        try:
            configured = (
                json.loads(path.read_text()).get("lake_start_date") if path.exists() else None
            )
        except (OSError, ValueError, AttributeError) as error:
            raise ConfigurationError(
                f"{path}: not a JSON object of settings ({type(error).__name__}); fix or remove it"
            ) from None
        where = f"lake_start_date in {path}"
    try:
        return date.fromisoformat(configured or DEFAULT_LAKE_START_DATE)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{where}={configured!r}: use a date, YYYY-MM-DD") from None


def save_lake_start_date(day: date, home: Path | None = None) -> Path:
    """Record the lake's first day in settings.json, keeping the file's other settings."""
    path = settings_path(home)
    settings = json.loads(path.read_text()) if path.exists() else {}
    settings["lake_start_date"] = day.isoformat()
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.write_text(json.dumps(settings, indent=2) + "\n")
    staging.replace(path)  # readers never see half a file
    return path


def _whole_number(
    environ: Environment,
    name: str,
    default: int | None,
    least: int,
    unit: str,
    hint: str = "",
    empty_is_unset: bool = True,
) -> int | None:
    """A variable holding a whole number of at least `least`; unset (or empty), `default`."""
    text = environ.get(name)
    if text is None or (empty_is_unset and not text):
        return default
    if not re.fullmatch(r"[0-9]+", text) or int(text) < least:
        raise ConfigurationError(f"{name}={text!r}: use {unit}, at least {least}{hint}")
    return int(text)


def _path(environ: Environment, name: str) -> Path | None:
    text = environ.get(name, "").strip()
    return Path(text).expanduser() if text else None


def _s3_url(environ: Environment, name: str) -> str | None:
    text = environ.get(name, "").strip()
    if not text:
        return None
    if not re.fullmatch(r"s3://[^/?#]+(/[^?#]*)?", text):
        raise ConfigurationError(f"{name}={text!r}: use s3://bucket/prefix")
    return text


def _target_url(environ: Environment, name: str) -> str | None:
    """A delivery target's URL (s3://bucket/prefix?region=…), checked as every door checks it."""
    from keeptrusts_pipelines.delivery.target import parse_target

    text = environ.get(name, "").strip()
    return parse_target(text, name).url if text else None


def event_retention_hours(environ: Environment = os.environ) -> int | None:
    """`KEEPTRUSTS_EVENT_RETENTION_HOURS`; unset, nothing is pruned."""
    return _whole_number(environ, "KEEPTRUSTS_EVENT_RETENTION_HOURS", None, 24, "whole hours")


def legal_hold(environ: Environment = os.environ) -> bool:
    """`KEEPTRUSTS_LEGAL_HOLD=1` (or true, yes): hold every day of the lake."""
    text = environ.get("KEEPTRUSTS_LEGAL_HOLD", "").strip().lower()
    if text not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ConfigurationError(
            f"KEEPTRUSTS_LEGAL_HOLD={text!r}: use 1 to hold everything, or leave it unset"
        )
    return text in ("1", "true", "yes")


def quarantine_max_share(environ: Environment = os.environ) -> float:
    """`KEEPTRUSTS_QUARANTINE_MAX_SHARE` (default 0.01): the share of a day's records that may
    be quarantined before the day's check fails."""
    text = environ.get("KEEPTRUSTS_QUARANTINE_MAX_SHARE", "").strip()
    if not text:
        return DEFAULT_QUARANTINE_MAX_SHARE
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise ConfigurationError(
            f"KEEPTRUSTS_QUARANTINE_MAX_SHARE={text!r}: use a share between 0 and 1 (0.01 is 1%)"
        )
    return share


def formats_modules(environ: Environment = os.environ) -> tuple[str, ...]:
    """`KEEPTRUSTS_FORMATS_MODULES`: modules, comma-separated, that register export formats."""
    text = environ.get("KEEPTRUSTS_FORMATS_MODULES", "")
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", name):
            raise ConfigurationError(
                f"KEEPTRUSTS_FORMATS_MODULES: {name[:80]!r} is not a module name; give dotted "
                "module names, comma-separated (my_formats or company.formats)"
            )
    return names


def frameworks_dir(environ: Environment = os.environ) -> Path | None:
    """`KEEPTRUSTS_FRAMEWORKS_DIR`: a folder of framework catalogs (`<name>.yaml`) beside the
    packaged ones."""
    folder = _path(environ, "KEEPTRUSTS_FRAMEWORKS_DIR")
    if folder is not None and not folder.is_dir():
        raise ConfigurationError(
            f"KEEPTRUSTS_FRAMEWORKS_DIR={str(folder)!r}: not a folder; give the folder holding "
            "the catalogs (<name>.yaml), or unset it"
        )
    return folder


def deliveries_file(home: Path | None = None, environ: Environment = os.environ) -> Path:
    """`KEEPTRUSTS_DELIVERIES_FILE`, else `deliveries.yaml` under KEEPTRUSTS_HOME."""
    configured = _path(environ, "KEEPTRUSTS_DELIVERIES_FILE")
    return configured or (home or keeptrusts_home(environ)) / "deliveries.yaml"


def s3_checksum(environ: Environment = os.environ) -> str:
    """`KEEPTRUSTS_S3_CHECKSUM` (default sha256): none for stores that refuse checksum headers."""
    text = environ.get("KEEPTRUSTS_S3_CHECKSUM", "") or "sha256"
    if text not in S3_CHECKSUM_MODES:
        raise ConfigurationError(
            f"KEEPTRUSTS_S3_CHECKSUM={text!r}: use sha256, or none for stores that refuse it"
        )
    return text


def s3_lock_mode(environ: Environment = os.environ) -> str | None:
    """`KEEPTRUSTS_S3_OBJECT_LOCK_MODE`: GOVERNANCE or COMPLIANCE retention of deliveries."""
    text = environ.get("KEEPTRUSTS_S3_OBJECT_LOCK_MODE", "")
    if text and text not in S3_LOCK_MODES:
        raise ConfigurationError(
            f"KEEPTRUSTS_S3_OBJECT_LOCK_MODE={text!r}: use GOVERNANCE or COMPLIANCE"
        )
    return text or None


@dataclass(frozen=True)
class Settings:
    """Every setting the front doors pass down, read and validated once."""

    home: Path
    lake_url: str
    lake_start_date: date
    custody_url: str
    export_part_bytes: int
    export_ttl_days: int
    deliveries_file: Path
    legal_holds_file: Path
    legal_hold: bool
    event_retention_hours: int | None
    quarantine_max_share: float
    redaction_rules: Path | None
    redaction_regions: tuple[str, ...]
    pseudonym_key: bytes | None
    formats_modules: tuple[str, ...]
    frameworks_dir: Path | None
    signing_key: Path | None
    pdf_signing_key: Path | None
    pdf_signing_cert: Path | None
    transcript_workers: int
    transcript_volume_conversations: int
    verify_max_bytes: int
    source_url: str | None
    dagster_url: str | None
    webhook_url: str | None
    webhook_secret: str | None
    evidence_s3_url: str | None
    requests_s3_url: str | None
    aws_region: str | None
    aws_endpoint_url: str | None
    s3_checksum: str
    s3_lock_mode: str | None
    s3_lock_days: int | None

    @classmethod
    def from_environment(cls, environ: Environment = os.environ) -> Settings:
        """Every variable read and checked; the first bad one raises its one-line error."""
        home = keeptrusts_home(environ)
        signing_key = _path(environ, "KEEPTRUSTS_SIGNING_KEY")
        return cls(
            home=home,
            lake_url=lake_url(home, environ),
            lake_start_date=lake_start_date(home, environ),
            custody_url=custody_url(home, environ),
            export_part_bytes=export_part_bytes(environ),
            export_ttl_days=export_ttl_days(environ),
            deliveries_file=deliveries_file(home, environ),
            legal_holds_file=legal_holds_path(home, environ),
            legal_hold=legal_hold(environ),
            event_retention_hours=event_retention_hours(environ),
            quarantine_max_share=quarantine_max_share(environ),
            redaction_rules=redaction_rules_path(environ),
            redaction_regions=redaction_regions(environ),
            pseudonym_key=pseudonym_key(environ),
            formats_modules=formats_modules(environ),
            frameworks_dir=frameworks_dir(environ),
            signing_key=signing_key,
            pdf_signing_key=_path(environ, "KEEPTRUSTS_PDF_SIGNING_KEY") or signing_key,
            pdf_signing_cert=_path(environ, "KEEPTRUSTS_PDF_SIGNING_CERT"),
            # The CPUs this process may use: each volume renders in its own process (~300 MB).
            transcript_workers=_whole_number(
                environ,
                "KEEPTRUSTS_TRANSCRIPT_WORKERS",
                len(os.sched_getaffinity(0)),
                1,
                "a whole number",
            ),
            transcript_volume_conversations=_whole_number(
                environ,
                "KEEPTRUSTS_TRANSCRIPT_VOLUME_CONVERSATIONS",
                DEFAULT_VOLUME_CONVERSATIONS,
                1,
                "a whole number",
            ),
            verify_max_bytes=_whole_number(
                environ,
                "KEEPTRUSTS_VERIFY_MAX_BYTES",
                DEFAULT_VERIFY_MAX_BYTES,
                1,
                "a whole number of bytes",
                hint=f" (default {DEFAULT_VERIFY_MAX_BYTES}, 20 GiB)",
                empty_is_unset=False,
            ),
            source_url=environ.get("KEEPTRUSTS_SOURCE_URL") or None,
            dagster_url=environ.get("KEEPTRUSTS_DAGSTER_URL") or None,
            webhook_url=environ.get("KEEPTRUSTS_WEBHOOK_URL") or None,
            webhook_secret=environ.get("KEEPTRUSTS_WEBHOOK_SECRET") or None,
            evidence_s3_url=_target_url(environ, "KEEPTRUSTS_EVIDENCE_S3_URL"),
            requests_s3_url=_s3_url(environ, "KEEPTRUSTS_REQUESTS_S3_URL"),
            aws_region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None,
            # boto3's order for S3 clients: the S3-specific endpoint first.
            aws_endpoint_url=environ.get("AWS_ENDPOINT_URL_S3")
            or environ.get("AWS_ENDPOINT_URL")
            or None,
            s3_checksum=s3_checksum(environ),
            s3_lock_mode=s3_lock_mode(environ),
            s3_lock_days=_whole_number(
                environ, "KEEPTRUSTS_S3_OBJECT_LOCK_DAYS", None, 1, "whole days"
            ),
        )

    def redaction(self) -> RedactionConfig:
        """The redaction settings together, as the export engine takes them."""
        from keeptrusts_pipelines.exports.redaction import RedactionConfig

        return RedactionConfig(self.redaction_rules, self.redaction_regions, self.pseudonym_key)

    def format_sources(self) -> FormatSources:
        """Plug-in format modules and the framework catalogs' folder, for the format registry."""
        from keeptrusts_pipelines.exports.formats import FormatSources

        return FormatSources(self.formats_modules, self.frameworks_dir)

    def producer_options(self) -> ProducerOptions:
        """Signing keys and transcript settings, as the export engine takes them."""
        from keeptrusts_pipelines.exports.producer_options import ProducerOptions

        return ProducerOptions(
            signing_key=self.signing_key,
            pdf_signing_key=self.pdf_signing_key,
            pdf_signing_cert=self.pdf_signing_cert,
            transcript_workers=self.transcript_workers,
            volume_conversations=self.transcript_volume_conversations,
        )

    def s3_access(self) -> S3Access:
        """How deliveries reach S3: endpoint, default region, checksum mode, Object Lock."""
        from keeptrusts_pipelines.delivery.s3_access import S3Access

        return S3Access(
            region=self.aws_region,
            endpoint_url=self.aws_endpoint_url,
            checksum=self.s3_checksum,
            lock_mode=self.s3_lock_mode,
            lock_days=self.s3_lock_days,
        )
