-- Canonical escalations from rows as a source holds them (`raw`); see conform_decision_events.sql.
WITH typed AS (
    SELECT
        CAST(escalation_id AS VARCHAR) AS escalation_id,
        CAST(event_id AS VARCHAR) AS event_id,
        CAST(request_id AS VARCHAR) AS request_id,
        TRY_CAST(opened_at AS TIMESTAMPTZ) AS opened_at,
        CAST(severity AS VARCHAR) AS severity,
        CAST(reason AS VARCHAR) AS reason,
        CAST(status AS VARCHAR) AS status,
        CAST(assignee AS VARCHAR) AS assignee,
        TRY_CAST(resolved_at AS TIMESTAMPTZ) AS resolved_at,
        CAST(resolution_note AS VARCHAR) AS resolution_note,
        raw.opened_at AS raw_opened_at,
        raw.resolved_at AS raw_resolved_at,
        raw.source_row,
        raw.source_origin
    FROM raw
),
judged AS (
    SELECT
        *,
        CASE
            WHEN coalesce(escalation_id, '') = '' THEN 'missing required field escalation_id'
            WHEN raw_opened_at IS NULL THEN 'missing required field opened_at'
            WHEN opened_at IS NULL
                THEN 'unparseable opened_at ''' || CAST(raw_opened_at AS VARCHAR)
                    || ''': use RFC 3339, e.g. 2026-05-01T12:00:00Z'
            WHEN opened_at < $day_start OR opened_at >= $day_end
                THEN 'opened_at ' || strftime(opened_at, '%Y-%m-%dT%H:%M:%S.%fZ')
                    || ' is outside the partition day ' || strftime($day_start, '%Y-%m-%d')
                    || ': deliver it under the folder of its own UTC day'
            WHEN coalesce(event_id, '') = '' THEN 'missing required field event_id'
            WHEN coalesce(request_id, '') = '' THEN 'missing required field request_id'
            WHEN coalesce(reason, '') = '' THEN 'missing required field reason'
            WHEN severity IS NULL OR NOT list_contains($severity, severity)
                THEN 'unknown severity ''' || coalesce(severity, 'null') || ''' (expected one of '
                    || array_to_string($severity, ', ') || ')'
            WHEN status IS NULL OR NOT list_contains($status, status)
                THEN 'unknown status ''' || coalesce(status, 'null') || ''' (expected one of '
                    || array_to_string($status, ', ') || ')'
            WHEN raw_resolved_at IS NOT NULL AND resolved_at IS NULL
                THEN 'unparseable resolved_at ''' || CAST(raw_resolved_at AS VARCHAR)
                    || ''': use RFC 3339, e.g. 2026-05-01T12:00:00Z'
            WHEN row_number() OVER (PARTITION BY escalation_id ORDER BY source_row) > 1
                THEN 'duplicate escalation_id ''' || escalation_id
                    || ''' (an earlier record of the day has it)'
        END AS reject_reason
    FROM typed
)
SELECT
    escalation_id, event_id, request_id, opened_at, severity, reason, status, assignee,
    resolved_at, resolution_note,
    reject_reason, source_origin, source_row
FROM judged
ORDER BY reject_reason IS NOT NULL, opened_at, escalation_id, source_row
