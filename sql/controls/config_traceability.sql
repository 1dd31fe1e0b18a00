-- Each event names a gateway configuration version the history holds.
SELECT
    count(*) AS events,
    count(*) FILTER (WHERE c.config_version IS NULL) AS untraceable_events,
    count(DISTINCT e.config_version) AS versions_in_use
FROM events AS e
LEFT JOIN (SELECT DISTINCT config_version FROM config_versions) AS c USING (config_version)
