-- Each escalation is assigned to a named reviewer.
SELECT
    count(*) AS escalations,
    count(*) FILTER (WHERE assignee IS NULL OR trim(assignee) = '') AS unassigned
FROM escalations
