"""The values the canonical tables allow in their coded columns.

Apart from the Arrow schemas (model/schema.py), so a request can be checked against them
without loading Arrow: `kt export status` never needs it.
"""

ACTIONS = ("allow", "block", "redact", "escalate")
RESULTS = ("passed", "blocked", "modified", "escalated")
SEVERITIES = ("info", "low", "medium", "high", "critical")
# What one evaluated policy said of a request (`policies_evaluated[].verdict`).
VERDICTS = ("pass", "block", "modified", "escalate")
ESCALATION_STATUSES = ("open", "acknowledged", "resolved", "dismissed")
