-- Access refused is recorded with the policy that refused it and its severity.
SELECT
    count(*) FILTER (WHERE action = 'block') AS blocked,
    count(*) FILTER (
        WHERE action = 'block' AND (policy IS NULL OR severity IS NULL OR result <> 'blocked')
    ) AS blocked_unattributed
FROM events
