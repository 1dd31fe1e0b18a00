"""Settings are read and checked once, at a front door: each bad variable is one line naming
it and the fix."""

from pathlib import Path

import pytest

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.settings import DEFAULT_VERIFY_MAX_BYTES, Settings

BAD_VALUES = [
    ("KEEPTRUSTS_LAKE_URL", "ftp://lake", "KEEPTRUSTS_LAKE_URL"),
    ("KEEPTRUSTS_LAKE_START_DATE", "2026-13-01", "use a date, YYYY-MM-DD"),
    ("KEEPTRUSTS_EXPORT_PART_BYTES", "12", "use a whole number of bytes, at least 1024"),
    ("KEEPTRUSTS_EXPORT_TTL_DAYS", "0", "use a whole number of days, at least 1"),
    ("KEEPTRUSTS_EVENT_RETENTION_HOURS", "12", "use whole hours, at least 24"),
    ("KEEPTRUSTS_LEGAL_HOLD", "maybe", "use 1 to hold everything"),
    ("KEEPTRUSTS_QUARANTINE_MAX_SHARE", "5%", "use a share between 0 and 1"),
    ("KEEPTRUSTS_REDACTION_DEFAULT_REGION", "ES,XX", "use ISO 3166 region codes"),
    ("KEEPTRUSTS_PSEUDONYM_KEY", "short", "is 5 bytes: use a random secret of at least"),
    ("KEEPTRUSTS_FORMATS_MODULES", "my formats", "is not a module name"),
    ("KEEPTRUSTS_FRAMEWORKS_DIR", "/nonexistent/catalogs", "not a folder"),
    ("KEEPTRUSTS_TRANSCRIPT_WORKERS", "none", "use a whole number, at least 1"),
    ("KEEPTRUSTS_TRANSCRIPT_VOLUME_CONVERSATIONS", "0", "use a whole number, at least 1"),
    ("KEEPTRUSTS_VERIFY_MAX_BYTES", "1e9", "use a whole number of bytes, at least 1"),
    ("KEEPTRUSTS_VERIFY_MAX_BYTES", "", "use a whole number of bytes, at least 1"),
    ("KEEPTRUSTS_EVIDENCE_S3_URL", "https://bucket", "give s3://bucket/prefix"),
    ("KEEPTRUSTS_REQUESTS_S3_URL", "s3://", "use s3://bucket/prefix"),
    ("KEEPTRUSTS_S3_CHECKSUM", "crc32", "use sha256, or none"),
    ("KEEPTRUSTS_S3_OBJECT_LOCK_MODE", "forever", "use GOVERNANCE or COMPLIANCE"),
    ("KEEPTRUSTS_S3_OBJECT_LOCK_DAYS", "ten", "use whole days, at least 1"),
]


@pytest.mark.parametrize(("variable", "value", "fix"), BAD_VALUES)
def test_a_bad_value_is_one_line_naming_the_variable_and_the_fix(
    tmp_path: Path, variable: str, value: str, fix: str
) -> None:
    environ = {"KEEPTRUSTS_HOME": str(tmp_path), variable: value}
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environment(environ)
    message = str(raised.value)
    assert variable in message and fix in message, message
    assert "\n" not in message
    if variable == "KEEPTRUSTS_PSEUDONYM_KEY":
        assert value not in message  # a secret is never shown


def test_settings_are_read_from_the_environment_given(tmp_path: Path) -> None:
    catalogs = tmp_path / "catalogs"
    catalogs.mkdir()
    settings = Settings.from_environment(
        {
            "KEEPTRUSTS_HOME": str(tmp_path),
            "KEEPTRUSTS_EXPORT_PART_BYTES": "2048",
            "KEEPTRUSTS_EVENT_RETENTION_HOURS": "48",
            "KEEPTRUSTS_LEGAL_HOLD": "yes",
            "KEEPTRUSTS_REDACTION_DEFAULT_REGION": "es, gb",
            "KEEPTRUSTS_FORMATS_MODULES": "company.formats, other",
            "KEEPTRUSTS_FRAMEWORKS_DIR": str(catalogs),
            "KEEPTRUSTS_SIGNING_KEY": str(tmp_path / "key.pem"),
            "KEEPTRUSTS_EVIDENCE_S3_URL": "s3://evidence/kt",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
            "KEEPTRUSTS_S3_OBJECT_LOCK_MODE": "COMPLIANCE",
            "KEEPTRUSTS_S3_OBJECT_LOCK_DAYS": "30",
        }
    )
    assert settings.home == tmp_path.resolve()
    assert settings.lake_url == str(tmp_path.resolve() / "lake")
    assert settings.export_part_bytes == 2048 and settings.export_ttl_days == 7
    assert settings.event_retention_hours == 48 and settings.legal_hold
    assert settings.redaction_regions == ("ES", "GB")
    assert settings.formats_modules == ("company.formats", "other")
    assert settings.frameworks_dir == catalogs
    # The PDF is signed with the provenance key unless it has its own.
    assert settings.pdf_signing_key == settings.signing_key == tmp_path / "key.pem"
    assert settings.verify_max_bytes == DEFAULT_VERIFY_MAX_BYTES
    assert settings.deliveries_file == tmp_path.resolve() / "deliveries.yaml"
    target = settings.s3_access().target("evidence", "kt")
    assert (target.region, target.endpoint_url) == ("eu-west-1", "http://127.0.0.1:9000")
    assert (target.lock_mode, target.lock_days, target.checksum) == ("COMPLIANCE", 30, "sha256")


def test_unset_variables_take_their_defaults(tmp_path: Path) -> None:
    settings = Settings.from_environment({"KEEPTRUSTS_HOME": str(tmp_path)})
    assert settings.event_retention_hours is None and not settings.legal_hold
    assert settings.pseudonym_key is None and settings.signing_key is None
    assert settings.redaction_regions == ("ES",) and settings.quarantine_max_share == 0.01
    assert settings.custody_url == f"sqlite:///{tmp_path.resolve() / 'custody.db'}"
    assert settings.transcript_workers >= 1
