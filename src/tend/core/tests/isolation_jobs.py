"""Isolation entries for the jobs routes."""

from tend.core.tests.isolation import register

register("GET", "/api/v1/jobs", targets_victim=False, query=lambda v: {"limit": 5})
register("GET", "/api/v1/jobs/{job_id}", path=lambda v: {"job_id": v.job.pk})
register("POST", "/api/v1/jobs/{job_id}/cancel", path=lambda v: {"job_id": v.job.pk})
