-- Closed incidents say how they were closed.
SELECT
    count(*) FILTER (WHERE status IN ('resolved', 'dismissed')) AS closed,
    count(*) FILTER (
        WHERE status IN ('resolved', 'dismissed')
          AND (resolution_note IS NULL OR trim(resolution_note) = '' OR resolved_at IS NULL)
    ) AS closed_without_note
FROM escalations
