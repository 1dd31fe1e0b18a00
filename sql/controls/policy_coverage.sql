-- Every request was evaluated by $policy_name (e.g. the transparency notice).
SELECT
    (SELECT count(*) FROM events) AS events,
    (SELECT count(*) FROM events)
        - coalesce((SELECT max(evaluated) FROM policy_evaluations WHERE name = $policy_name), 0)
        AS not_evaluated
