"""The code location by domain: each module contributes the Dagster objects of one domain
(the lake, exports, evidence, custody); definitions.py merges them and adds the resources."""

import warnings

import dagster as dg

# Code references (the UI's "open source" links) are a beta of Dagster's; it says so on every load.
warnings.filterwarnings(
    "ignore",
    message="(Class|Function) `(LocalFileCodeReference|CodeReferencesMetadataValue|"
    "with_source_code_references)`",
    category=dg.BetaWarning,
)
