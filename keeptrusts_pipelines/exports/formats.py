"""Export formats: one entry per format, the one list every door reads.

An entry gives a format's name, file extension, media type, kind (rows of one export type, a
report, or the evidence bundle), producer, whether a provenance statement goes beside its
artifact, and its file inside `compliance-all` when it is one of the bundle's members. The
CLI help, the Launchpad's pick-list, `deliveries.yaml`, artifact names and the bundle read
the formats from here; a name not here is refused, naming the field and the formats there are.

Producers are named `module:attribute` and imported only when an export in that format is
written, so listing the formats imports no report library (the report producers pull in
WeasyPrint and DuckDB: seconds of start-up for a help text). A producer is:
- for a tabular format, a FormatWriter factory called as `producer(header, records_key)` once
  per part file (see exports/writers.py); the engine streams the rows into it;
- for a report or bundle, a function `producer(request, layout, staging, export_id, started,
  redaction, options) -> Written` leaving its part files in `staging`; `options`
  (exports/producer_options.py) carry the signing keys and transcript settings the door read.
  Inside `compliance-all` it is called with `export_id=None`: a bundle holds nothing
  run-specific.

Adding a format changes nothing in this package:
- a framework catalog `<name>.yaml` in KEEPTRUSTS_FRAMEWORKS_DIR is the format
  `compliance-<name>` and a member of `compliance-all`;
- a module named in KEEPTRUSTS_FORMATS_MODULES (comma-separated module names, importable from
  the Python path) calls `register_format(ExportFormat(...))` when imported. It is imported
  whenever formats are looked up, by every process that runs exports, so it keeps its heavy
  imports inside its producer.
Both are read by the front doors (`kt`, the code location, the API) as they start, which hand
them here with `use_format_sources`; this module reads no environment variable.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError

FORMATS_MODULES_VARIABLE = "KEEPTRUSTS_FORMATS_MODULES"
FRAMEWORKS_DIR_VARIABLE = "KEEPTRUSTS_FRAMEWORKS_DIR"
# The packaged framework catalogs; found here by name, so listing formats loads no report code.
PACKAGED_CATALOGS = Path(__file__).parent.parent / "reports" / "frameworks"
FRAMEWORK_PREFIX = "compliance-"
# Format names reach file names, run tags and URLs: lower-case words and hyphens.
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_EXTENSION = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)*$")
_BUNDLE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class FormatKind(StrEnum):
    TABULAR = "tabular"  # rows of one export type, written by the engine
    REPORT = "report"  # a document about the window's decision events
    BUNDLE = "bundle"  # the evidence bundle: every member format, packed and described


class Shaping(StrEnum):
    """How a tabular format shows values."""

    TYPED = "typed"  # as the lake holds them (Parquet)
    TEXT = "text"  # times as RFC 3339 text (JSON, JSONL)
    FLAT = "flat"  # text cells: nested values as JSON, none a spreadsheet would run (CSV)


@dataclass(frozen=True)
class ExportFormat:
    name: str
    extension: str  # of the artifact: `csv`, `tar.gz`
    media_type: str
    kind: FormatKind
    # `module:attribute`, imported when an export in this format is written (or the callable).
    producer: str | Callable[..., object]
    provenance: bool = False  # an in-toto statement beside the artifact
    # Its file inside `compliance-all`; None: not one of the bundle's members.
    bundle_file: str | None = None
    shaping: Shaping = Shaping.TEXT  # tabular formats only
    # What follows the window in a default artifact name (`kt_<from>_to_<to><label>.<ext>`);
    # None: `_<name>`. Tabular artifacts are labelled by their export type instead.
    file_label: str | None = None

    def load_producer(self) -> Callable[..., object]:
        if callable(self.producer):
            return self.producer
        module_name, _, attribute = self.producer.partition(":")
        try:
            return getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ConfigurationError(
                f"format {self.name}: producer {self.producer!r} cannot be loaded ({error}); "
                "name an importable module:attribute"
            ) from None

    @property
    def label(self) -> str:
        return f"_{self.name}" if self.file_label is None else self.file_label


_REGISTERED: dict[str, ExportFormat] = {}
_IMPORTED_MODULES: set[str] = set()


@dataclass(frozen=True)
class FormatSources:
    """Where formats beyond the packaged ones come from: plug-in modules (each registers its
    formats as it loads) and a folder of framework catalogs."""

    modules: tuple[str, ...] = ()
    frameworks_dir: Path | None = None


_sources = FormatSources()


def use_format_sources(sources: FormatSources) -> None:
    """Look formats up in `sources` from now on; a door calls it once, as it starts."""
    global _sources
    _sources = sources


def _shown(text: str) -> str:
    """A value as an error repeats it: quoted, cut short."""
    return repr(text) if len(text) <= 60 else f"{text[:57]!r}…"


def register_format(entry: ExportFormat) -> ExportFormat:
    """Add `entry` to the formats; a name already taken by another entry is refused."""
    where = f"format {_shown(str(entry.name))}"
    problems = [
        (not _NAME.match(str(entry.name)), "name: use lower-case letters, digits and hyphens"),
        (not _EXTENSION.match(str(entry.extension)), "extension: use e.g. csv or tar.gz"),
        ("/" not in str(entry.media_type), "media_type: use e.g. text/csv"),
        (not isinstance(entry.kind, FormatKind), f"kind: use one of {', '.join(FormatKind)}"),
        (
            not callable(entry.producer) and ":" not in str(entry.producer),
            "producer: name it as module:attribute",
        ),
        (
            entry.bundle_file is not None and not _BUNDLE_FILE.match(entry.bundle_file),
            "bundle_file: a plain file name such as summary.md",
        ),
        (
            entry.bundle_file is not None and entry.kind is FormatKind.BUNDLE,
            "bundle_file: a bundle cannot be inside a bundle",
        ),
    ]
    for failed, message in problems:
        if failed:
            raise ConfigurationError(f"{where}: {message}")
    existing = _REGISTERED.get(entry.name)
    if existing is not None and existing != entry:
        raise ConfigurationError(
            f"{where} is registered twice ({existing.producer} and {entry.producer}); "
            "give the new one another name"
        )
    _REGISTERED[entry.name] = entry
    return entry


def _import_plugins() -> None:
    """Import the modules of KEEPTRUSTS_FORMATS_MODULES not imported yet (each registers its
    formats as it loads)."""
    for module_name in _sources.modules:
        if module_name in _IMPORTED_MODULES:
            continue
        # Marked first: a plug-in that looks formats up while it loads must not load again.
        _IMPORTED_MODULES.add(module_name)
        try:
            importlib.import_module(module_name)
        except Exception as error:  # the plug-in's fault, said in one line
            _IMPORTED_MODULES.discard(module_name)
            if isinstance(error, ConfigurationError):
                raise
            fix = "put its folder on PYTHONPATH" if isinstance(error, ImportError) else "fix it"
            raise ConfigurationError(
                f"{FORMATS_MODULES_VARIABLE}: cannot import {_shown(module_name)} "
                f"({type(error).__name__}: {error}); {fix}, or remove it from the list"
            ) from None


def catalog_paths() -> dict[str, Path]:
    """Every framework catalog by name: the packaged ones, then those of
    KEEPTRUSTS_FRAMEWORKS_DIR (one there replaces a packaged one of the same name)."""
    folders = [PACKAGED_CATALOGS]
    if _sources.frameworks_dir is not None:
        folders.append(_sources.frameworks_dir)
    return {path.stem: path for folder in folders for path in sorted(folder.glob("*.yaml"))}


def framework_format(framework: str) -> ExportFormat:
    """`compliance-<framework>`: the framework catalog's JSON report, in every bundle."""
    name = f"{FRAMEWORK_PREFIX}{framework}"
    return ExportFormat(
        name=name,
        extension="json",
        media_type="application/json",
        kind=FormatKind.REPORT,
        producer="keeptrusts_pipelines.reports.artifacts:write_framework_report",
        bundle_file=f"{name}.json",
    )


def _framework_formats() -> dict[str, ExportFormat]:
    """A format per catalog whose name can be a format name; a registered format keeps its name."""
    names = (f"{FRAMEWORK_PREFIX}{name}" for name in sorted(catalog_paths()))
    return {
        name: framework_format(name.removeprefix(FRAMEWORK_PREFIX))
        for name in names
        if _NAME.match(name) and name not in _REGISTERED
    }


def export_formats() -> dict[str, ExportFormat]:
    """Every format there is now, by name: tabular ones, reports (framework reports after the
    registered ones), then bundles."""
    _import_plugins()
    registered = list(_REGISTERED.values())
    ordered = (
        [entry for entry in registered if entry.kind is FormatKind.TABULAR]
        + [entry for entry in registered if entry.kind is FormatKind.REPORT]
        + list(_framework_formats().values())
        + [entry for entry in registered if entry.kind is FormatKind.BUNDLE]
    )
    return {entry.name: entry for entry in ordered}


def format_names(*kinds: FormatKind) -> tuple[str, ...]:
    """The names of the formats there are now, of `kinds` (default: all)."""
    return tuple(
        name for name, entry in export_formats().items() if not kinds or entry.kind in kinds
    )


def format_named(
    name: str, field: str = "format", frameworks: Collection[str] | None = None
) -> ExportFormat:
    """The entry of `name`; an unknown name raises ExportRequestError naming `field` and the
    formats there are. `compliance-<name>` needs a catalog among `frameworks` (default: the
    catalogs there are now)."""
    _import_plugins()
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name.startswith(FRAMEWORK_PREFIX) and _NAME.match(name):
        framework = name.removeprefix(FRAMEWORK_PREFIX)
        known = sorted(catalog_paths() if frameworks is None else frameworks)
        if framework in known:
            return framework_format(framework)
        raise ExportRequestError(
            field,
            f"no framework catalog {_shown(framework)}; the catalogs hold "
            f"{', '.join(known) or 'none'} (add {framework}.yaml to {FRAMEWORKS_DIR_VARIABLE})",
        )
    raise ExportRequestError(
        field, f"unknown format {_shown(name)}; use one of {', '.join(export_formats())}"
    )


def bundle_members() -> list[ExportFormat]:
    """The formats `compliance-all` holds, by their file name in it."""
    members = [entry for entry in export_formats().values() if entry.bundle_file]
    return sorted(members, key=lambda entry: str(entry.bundle_file))


def formats_help() -> str:
    """The formats as a help text lists them."""
    tabular = ", ".join(format_names(FormatKind.TABULAR))
    reports = ", ".join(format_names(FormatKind.REPORT))
    bundles = ", ".join(format_names(FormatKind.BUNDLE))
    return (
        f"{tabular}; {reports} (compliance-<name>: a framework catalog); {bundles} "
        f"(every framework, the PDF report and the data)."
    )


# The built-in formats. Each producer lives in the module it names.
for _entry in (
    ExportFormat(
        "csv",
        "csv",
        "text/csv",
        FormatKind.TABULAR,
        "keeptrusts_pipelines.exports.writers:CsvWriter",
        shaping=Shaping.FLAT,
    ),
    ExportFormat(
        "json",
        "json",
        "application/json",
        FormatKind.TABULAR,
        "keeptrusts_pipelines.exports.writers:JsonWriter",
    ),
    ExportFormat(
        "jsonl",
        "jsonl",
        "application/x-ndjson",
        FormatKind.TABULAR,
        "keeptrusts_pipelines.exports.writers:JsonlWriter",
        bundle_file="events.jsonl",
    ),
    ExportFormat(
        "parquet",
        "parquet",
        "application/vnd.apache.parquet",
        FormatKind.TABULAR,
        "keeptrusts_pipelines.exports.writers:ParquetWriter",
        shaping=Shaping.TYPED,
    ),
    ExportFormat(
        "pdf",
        "pdf",
        "application/pdf",
        FormatKind.REPORT,
        "keeptrusts_pipelines.reports.artifacts:write_pdf_report",
        bundle_file="report.pdf",
        file_label="",
    ),
    ExportFormat(
        "transcript-pdf",
        "pdf",
        "application/pdf",
        FormatKind.REPORT,
        "keeptrusts_pipelines.reports.transcripts:write_transcripts",
        file_label="_transcripts",
    ),
    ExportFormat(
        "compliance-all",
        "tar.gz",
        "application/gzip",
        FormatKind.BUNDLE,
        "keeptrusts_pipelines.evidence.bundle:write_bundle_artifact",
        provenance=True,
    ),
):
    register_format(_entry)
