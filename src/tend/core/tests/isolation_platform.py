"""Isolation entries for the API platform's own routes: /me, /organization, /api-keys."""

from tend.core.tests.isolation import register

# Routes about the caller's own organization: no victim ids to send. Any principal may
# succeed here, but only with its own organization's data (the suite checks for canaries).
register("GET", "/api/v1/me", targets_victim=False)
register("GET", "/api/v1/organization", targets_victim=False)
register("PATCH", "/api/v1/organization", targets_victim=False,
         body=lambda v: {"name": "Renamed", "time_zone": "Asia/Dubai", "locale": "ar-AE"})
register("GET", "/api/v1/api-keys", targets_victim=False, query=lambda v: {"limit": 5})
register("POST", "/api/v1/api-keys", targets_victim=False,
         body=lambda v: {"name": "made in the suite", "permissions": ["organization.view"]})

register("GET", "/api/v1/api-keys/{key_id}", path=lambda v: {"key_id": v.api_key.pk})
register("POST", "/api/v1/api-keys/{key_id}/revoke", path=lambda v: {"key_id": v.api_key.pk})
