-- Canonical config versions from rows as a source holds them (`raw`); see conform_decision_events.sql.
WITH typed AS (
    SELECT
        CAST(config_version AS VARCHAR) AS config_version,
        CAST(gateway AS VARCHAR) AS gateway,
        TRY_CAST(created_at AS TIMESTAMPTZ) AS created_at,
        CAST(author AS VARCHAR) AS author,
        CAST(summary AS VARCHAR) AS summary,
        TRY_CAST(TRY_CAST(policies AS JSON) AS VARCHAR[]) AS policies,
        TRY_CAST(TRY_CAST(policy_definitions AS JSON)
            AS STRUCT(policy VARCHAR, version VARCHAR, description VARCHAR)[]) AS policy_definitions,
        CAST(sha256 AS VARCHAR) AS sha256,
        raw.created_at AS raw_created_at,
        raw.policies AS raw_policies,
        raw.policy_definitions AS raw_policy_definitions,
        raw.source_row,
        raw.source_origin
    FROM raw
),
judged AS (
    SELECT
        *,
        CASE
            WHEN coalesce(config_version, '') = '' THEN 'missing required field config_version'
            WHEN raw_created_at IS NULL THEN 'missing required field created_at'
            WHEN created_at IS NULL
                THEN 'unparseable created_at ''' || CAST(raw_created_at AS VARCHAR)
                    || ''': use RFC 3339, e.g. 2026-05-01T12:00:00Z'
            WHEN created_at < $day_start OR created_at >= $day_end
                THEN 'created_at ' || strftime(created_at, '%Y-%m-%dT%H:%M:%S.%fZ')
                    || ' is outside the partition day ' || strftime($day_start, '%Y-%m-%d')
                    || ': deliver it under the folder of its own UTC day'
            WHEN coalesce(gateway, '') = '' THEN 'missing required field gateway'
            WHEN coalesce(author, '') = '' THEN 'missing required field author'
            WHEN coalesce(summary, '') = '' THEN 'missing required field summary'
            WHEN NOT regexp_full_match(coalesce(sha256, ''), '[0-9a-f]{64}')
                THEN 'sha256 must be 64 lowercase hex digits'
            WHEN raw_policies IS NOT NULL AND policies IS NULL
                THEN 'policies is not a list of strings'
            WHEN raw_policy_definitions IS NOT NULL AND policy_definitions IS NULL
                THEN 'policy_definitions is not a list of {policy, version, description} objects'
            WHEN row_number() OVER (PARTITION BY config_version ORDER BY source_row) > 1
                THEN 'duplicate config_version ''' || config_version
                    || ''' (an earlier record of the day has it)'
        END AS reject_reason
    FROM typed
)
SELECT
    config_version, gateway, created_at, author, summary, policies, policy_definitions, sha256,
    reject_reason, source_origin, source_row
FROM judged
ORDER BY reject_reason IS NOT NULL, created_at, config_version, source_row
