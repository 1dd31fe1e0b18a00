-- Canonical decision events from rows as a source holds them (`raw`, any column types).
-- Every row comes out once: typed, with reject_reason NULL, or with the reason it was set aside.
-- $day_start/$day_end: the partition's half-open UTC day. Enumerations are bound as lists.
WITH typed AS (
    SELECT
        CAST(event_id AS VARCHAR) AS event_id,
        CAST(request_id AS VARCHAR) AS request_id,
        TRY_CAST("timestamp" AS TIMESTAMPTZ) AS "timestamp",
        CAST(environment AS VARCHAR) AS environment,
        CAST(gateway AS VARCHAR) AS gateway,
        CAST(consumer_group AS VARCHAR) AS consumer_group,
        CAST(team AS VARCHAR) AS team,
        CAST("user" AS VARCHAR) AS "user",
        CAST(model AS VARCHAR) AS model,
        CAST(provider AS VARCHAR) AS provider,
        CAST(policy AS VARCHAR) AS policy,
        CAST(action AS VARCHAR) AS action,
        CAST(result AS VARCHAR) AS result,
        CAST(severity AS VARCHAR) AS severity,
        TRY_CAST(TRY_CAST(policies_evaluated AS JSON)
            AS STRUCT(name VARCHAR, verdict VARCHAR, severity VARCHAR)[]) AS policies_evaluated,
        CAST(input AS VARCHAR) AS input,
        CAST(output AS VARCHAR) AS output,
        TRY_CAST(cost_tokens_input AS BIGINT) AS cost_tokens_input,
        TRY_CAST(cost_tokens_output AS BIGINT) AS cost_tokens_output,
        TRY_CAST(latency_ms AS BIGINT) AS latency_ms,
        CAST(escalation_id AS VARCHAR) AS escalation_id,
        CAST(config_version AS VARCHAR) AS config_version,
        CAST(conversation_id AS VARCHAR) AS conversation_id,
        CAST(trace_id AS VARCHAR) AS trace_id,
        TRY_CAST(TRY_CAST(citations AS JSON)
            AS STRUCT(asset VARCHAR, version BIGINT)[]) AS citations,
        raw."timestamp" AS raw_timestamp,
        raw.policies_evaluated AS raw_policies_evaluated,
        raw.citations AS raw_citations,
        raw.cost_tokens_input AS raw_cost_tokens_input,
        raw.cost_tokens_output AS raw_cost_tokens_output,
        raw.latency_ms AS raw_latency_ms,
        raw.source_row,
        raw.source_origin
    FROM raw
),
judged AS (
    SELECT
        *,
        CASE
            WHEN coalesce(event_id, '') = '' THEN 'missing required field event_id'
            WHEN raw_timestamp IS NULL THEN 'missing required field timestamp'
            WHEN "timestamp" IS NULL
                THEN 'unparseable timestamp ''' || CAST(raw_timestamp AS VARCHAR)
                    || ''': use RFC 3339, e.g. 2026-05-01T12:00:00Z'
            WHEN "timestamp" < $day_start OR "timestamp" >= $day_end
                THEN 'timestamp ' || strftime("timestamp", '%Y-%m-%dT%H:%M:%S.%fZ')
                    || ' is outside the partition day ' || strftime($day_start, '%Y-%m-%d')
                    || ': deliver it under the folder of its own UTC day'
            WHEN coalesce(request_id, '') = '' THEN 'missing required field request_id'
            WHEN coalesce(environment, '') = '' THEN 'missing required field environment'
            WHEN coalesce(gateway, '') = '' THEN 'missing required field gateway'
            WHEN coalesce(model, '') = '' THEN 'missing required field model'
            WHEN coalesce(provider, '') = '' THEN 'missing required field provider'
            WHEN coalesce(policy, '') = '' THEN 'missing required field policy'
            WHEN coalesce(config_version, '') = '' THEN 'missing required field config_version'
            WHEN action IS NULL OR NOT list_contains($action, action)
                THEN 'unknown action ''' || coalesce(action, 'null') || ''' (expected one of '
                    || array_to_string($action, ', ') || ')'
            WHEN result IS NULL OR NOT list_contains($result, result)
                THEN 'unknown result ''' || coalesce(result, 'null') || ''' (expected one of '
                    || array_to_string($result, ', ') || ')'
            WHEN severity IS NULL OR NOT list_contains($severity, severity)
                THEN 'unknown severity ''' || coalesce(severity, 'null') || ''' (expected one of '
                    || array_to_string($severity, ', ') || ')'
            WHEN raw_policies_evaluated IS NOT NULL AND policies_evaluated IS NULL
                THEN 'policies_evaluated is not a list of {name, verdict, severity} objects'
            WHEN raw_citations IS NOT NULL AND citations IS NULL
                THEN 'citations is not a list of {asset, version} objects'
            WHEN raw_cost_tokens_input IS NOT NULL AND cost_tokens_input IS NULL
                THEN 'cost_tokens_input is not an integer'
            WHEN raw_cost_tokens_output IS NOT NULL AND cost_tokens_output IS NULL
                THEN 'cost_tokens_output is not an integer'
            WHEN raw_latency_ms IS NOT NULL AND latency_ms IS NULL
                THEN 'latency_ms is not an integer'
            WHEN row_number() OVER (PARTITION BY event_id ORDER BY source_row) > 1
                THEN 'duplicate event_id ''' || event_id || ''' (an earlier record of the day has it)'
        END AS reject_reason
    FROM typed
)
SELECT
    event_id, request_id, "timestamp", environment, gateway, consumer_group, team, "user",
    model, provider, policy, action, result, severity, policies_evaluated, input, output,
    cost_tokens_input, cost_tokens_output, latency_ms, escalation_id, config_version,
    conversation_id, trace_id, citations,
    reject_reason, source_origin, source_row
FROM judged
ORDER BY reject_reason IS NOT NULL, "timestamp", event_id, source_row
