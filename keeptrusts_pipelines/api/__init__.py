"""The HTTP door: the `/v1` API with tokens and roles, and the server-rendered Exports page."""
