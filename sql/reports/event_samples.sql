-- A stratified sample of interventions for the appendix, spread over the window and across
-- policies: the window's days are cut into periods ($period_starts, first days, ascending)
-- and in each period one intervention per deciding policy is drawn, the one whose event id
-- has the smallest SHA-256: reproducible, and blind to severity and time of day.
WITH interventions AS (
    SELECT *,
           len(list_filter($period_starts::DATE[], lambda s: s <= CAST("timestamp" AS DATE))) AS period
    FROM events
    WHERE action <> 'allow'
), drawn AS (
    SELECT *,
           row_number() OVER (PARTITION BY period, policy ORDER BY sha256(event_id), event_id)
               AS draw
    FROM interventions
)
SELECT period, event_id, "timestamp", "user", team, model, policy, action, result, severity,
       input, output
FROM drawn
WHERE draw = 1
ORDER BY "timestamp", event_id
