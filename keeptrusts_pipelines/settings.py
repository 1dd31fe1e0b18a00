"""Where things live and the settings every front door shares, read from the environment."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from keeptrusts_pipelines.errors import ConfigurationError

if TYPE_CHECKING:
    from keeptrusts_pipelines.exports.redaction import RedactionConfig

DEFAULT_HOME = "./var"
DEFAULT_PART_BYTES = 1 << 30


def keeptrusts_home() -> Path:
    """`KEEPTRUSTS_HOME` (default `./var`): lake, exports, custody database, Dagster home."""
    return Path(os.environ.get("KEEPTRUSTS_HOME", DEFAULT_HOME)).expanduser().resolve()


def lake_root(home: Path | None = None) -> Path:
    return (home or keeptrusts_home()) / "lake"


def lake_url(home: Path | None = None) -> str:
    """`KEEPTRUSTS_LAKE_URL`: a folder or `s3://bucket/prefix` (default: the lake folder under
    KEEPTRUSTS_HOME); a URL that cannot be used is one line naming the variable and the fix."""
    from keeptrusts_pipelines.lake.location import check_lake_url

    configured = os.environ.get("KEEPTRUSTS_LAKE_URL", "").strip()
    return check_lake_url(configured) if configured else str(lake_root(home))


def dagster_home(home: Path | None = None) -> Path:
    return (home or keeptrusts_home()) / "dagster"


def exports_root(home: Path | None = None) -> Path:
    return (home or keeptrusts_home()) / "exports"


def export_part_bytes() -> int:
    """`KEEPTRUSTS_EXPORT_PART_BYTES` (default 1 GiB): beyond this an export is split into parts."""
    text = os.environ.get("KEEPTRUSTS_EXPORT_PART_BYTES", str(DEFAULT_PART_BYTES))
    if not text.isdigit() or int(text) < 1024:
        raise ConfigurationError(
            f"KEEPTRUSTS_EXPORT_PART_BYTES={text!r}: use a whole number of bytes, at least 1024"
        )
    return int(text)


def requests_root(home: Path | None = None) -> Path:
    """Inbox of export request files (the programmatic API), picked up by a sensor."""
    return (home or keeptrusts_home()) / "requests"


def custody_url(home: Path | None = None) -> str:
    """`KEEPTRUSTS_CUSTODY_URL` (default SQLite under KEEPTRUSTS_HOME): the custody ledger."""
    configured = os.environ.get("KEEPTRUSTS_CUSTODY_URL")
    if configured:
        return configured
    root = home or keeptrusts_home()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'custody.db'}"


def export_ttl_days() -> int:
    """`KEEPTRUSTS_EXPORT_TTL_DAYS` (default 7): days an export's artifact is kept."""
    text = os.environ.get("KEEPTRUSTS_EXPORT_TTL_DAYS", "7")
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


def legal_holds_path(home: Path | None = None) -> Path:
    """`KEEPTRUSTS_LEGAL_HOLDS_FILE`, else `legal_holds.yaml` under KEEPTRUSTS_HOME."""
    configured = os.environ.get("KEEPTRUSTS_LEGAL_HOLDS_FILE")
    return Path(configured) if configured else (home or keeptrusts_home()) / "legal_holds.yaml"


def redaction_rules_path() -> Path | None:
    """`KEEPTRUSTS_REDACTION_RULES`: a redaction rules file replacing the packaged one."""
    configured = os.environ.get("KEEPTRUSTS_REDACTION_RULES")
    return Path(configured).expanduser() if configured else None


def redaction_regions() -> tuple[str, ...]:
    """`KEEPTRUSTS_REDACTION_DEFAULT_REGION` (default `ES`): the regions, comma-separated, whose
    national phone numbers (written without a country code) redaction recognises."""
    import phonenumbers

    text = os.environ.get("KEEPTRUSTS_REDACTION_DEFAULT_REGION", "ES")
    regions = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    unknown = [region for region in regions if region not in phonenumbers.SUPPORTED_REGIONS]
    if not regions or unknown:
        raise ConfigurationError(
            f"KEEPTRUSTS_REDACTION_DEFAULT_REGION={text!r}: use ISO 3166 region codes "
            "libphonenumber knows, comma-separated (ES, or ES,GB,FR)"
        )
    return regions


def pseudonym_key() -> bytes | None:
    """`KEEPTRUSTS_PSEUDONYM_KEY`: the secret keying redaction's aliases, so they are the same
    across exports and a reviewer can reveal one; unset, each export draws its own."""
    from keeptrusts_pipelines.exports.pseudonyms import MINIMUM_KEY_BYTES

    text = os.environ.get("KEEPTRUSTS_PSEUDONYM_KEY")
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


def redaction_config() -> RedactionConfig:
    """The redaction settings together, as the export engine takes them."""
    from keeptrusts_pipelines.exports.redaction import RedactionConfig

    return RedactionConfig(redaction_rules_path(), redaction_regions(), pseudonym_key())


DEFAULT_LAKE_START_DATE = "2025-01-01"
SETTINGS_FILE = "settings.json"


def settings_path(home: Path | None = None) -> Path:
    """`settings.json` under KEEPTRUSTS_HOME: settings `kt` writes for every door to read."""
    return (home or keeptrusts_home()) / SETTINGS_FILE


def lake_start_date(home: Path | None = None) -> date:
    """The lake's first day: `KEEPTRUSTS_LAKE_START_DATE`, else `lake_start_date` in
    settings.json (written by `kt demo`), else 2025-01-01."""
    configured = os.environ.get("KEEPTRUSTS_LAKE_START_DATE")
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
