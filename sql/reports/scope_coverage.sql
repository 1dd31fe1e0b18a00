-- What a report's events came through: their environments, gateways and model providers.
SELECT coalesce(list_sort(list(DISTINCT environment)), []) AS environments,
       coalesce(list_sort(list(DISTINCT gateway)), []) AS gateways,
       coalesce(list_sort(list(DISTINCT provider)), []) AS providers
FROM events
