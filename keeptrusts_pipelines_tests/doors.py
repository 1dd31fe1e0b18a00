"""The engine as a front door calls it: with the settings read once from the environment
(redaction and producer options), unless a test passes its own."""

from keeptrusts_pipelines.exports.engine import ExportResult
from keeptrusts_pipelines.exports.engine import run_export as engine_run_export
from keeptrusts_pipelines.settings import Settings


def run_export(*arguments, **keywords) -> ExportResult:
    settings = Settings.from_environment()
    keywords.setdefault("redaction", settings.redaction())
    keywords.setdefault("options", settings.producer_options())
    return engine_run_export(*arguments, **keywords)
