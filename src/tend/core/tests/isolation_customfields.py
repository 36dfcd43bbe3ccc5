"""Isolation entries for the custom field, tag and audit routes."""

from tend.core.tests.isolation import register

# Lists and creates act on the caller's own organization.
register("GET", "/api/v1/custom-field-entities", targets_victim=False)
register("GET", "/api/v1/custom-fields", targets_victim=False, query=lambda v: {"limit": 5})
register("POST", "/api/v1/custom-fields", targets_victim=False,
         body=lambda v: {"entity_type": "contact", "key": "made_in_suite",
                         "label": {"en": "Made in the suite"}, "field_type": "text"})
register("GET", "/api/v1/custom-fields/{field_id}",
         path=lambda v: {"field_id": v.custom_field.pk})
register("PATCH", "/api/v1/custom-fields/{field_id}",
         path=lambda v: {"field_id": v.custom_field.pk},
         body=lambda v: {"label": {"en": "Renamed"}, "required": True})
register("POST", "/api/v1/custom-fields/{field_id}/deactivate",
         path=lambda v: {"field_id": v.custom_field.pk})
register("POST", "/api/v1/custom-fields/{field_id}/activate",
         path=lambda v: {"field_id": v.custom_field.pk})

register("GET", "/api/v1/tags", targets_victim=False, query=lambda v: {"limit": 5})
register("POST", "/api/v1/tags", targets_victim=False,
         body=lambda v: {"name": "Made in the suite", "color": "#123456"})
register("GET", "/api/v1/tags/{tag_id}", path=lambda v: {"tag_id": v.tag.pk})
register("PATCH", "/api/v1/tags/{tag_id}", path=lambda v: {"tag_id": v.tag.pk},
         body=lambda v: {"name": "Renamed in the suite", "color": "#654321"})
register("DELETE", "/api/v1/tags/{tag_id}", path=lambda v: {"tag_id": v.tag.pk})

register("GET", "/api/v1/audit", targets_victim=False, query=lambda v: {"limit": 5})
register("GET", "/api/v1/audit/{entry_id}", path=lambda v: {"entry_id": v.audit_entry.pk})
