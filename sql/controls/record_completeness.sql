-- Every governed request recorded with who, what, which policy, which outcome and when.
SELECT
    count(*) AS events,
    count(*) FILTER (
        WHERE request_id IS NULL OR "timestamp" IS NULL OR model IS NULL OR provider IS NULL
           OR policy IS NULL OR action IS NULL OR result IS NULL OR severity IS NULL
           OR config_version IS NULL OR "user" IS NULL OR team IS NULL
    ) AS incomplete_records
FROM events
