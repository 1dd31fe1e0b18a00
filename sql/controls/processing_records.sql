-- Records of processing: for each request, who (user, team), which system (gateway,
-- consumer group), which processor (model, provider).
SELECT
    count(*) AS events,
    count(*) FILTER (
        WHERE "user" IS NULL OR team IS NULL OR gateway IS NULL OR consumer_group IS NULL
           OR model IS NULL OR provider IS NULL
    ) AS missing_processing_fields,
    count(DISTINCT provider) AS processors,
    count(DISTINCT consumer_group) AS purposes
FROM events
