"""Isolation entries for message templates: the victim has a draft named with canaries."""

from tend.core.actors import Actor
from tend.core.tests.isolation import register, victim_builder
from tend.messaging.services.templates import template_create


@victim_builder
def _templates(v, c):
    v.template = template_create(tenant=v.tenant, actor=Actor.system(),
                                 key=c("template key"),
                                 channel="WEB", language="en", name=c("template name"),
                                 body=c("template body") + " {{ contact.first_name }}")


register("GET", "/api/v1/templates", targets_victim=False, query=lambda v: {"limit": 5})
register("GET", "/api/v1/templates/variables", targets_victim=False)
register("POST", "/api/v1/templates", targets_victim=False,
         body=lambda v: {"key": "suite", "channel": "WEB", "language": "en", "body": "Hi"})
template = {"path": lambda v: {"template_id": v.template.pk}}
register("GET", "/api/v1/templates/{template_id}", **template)
register("PATCH", "/api/v1/templates/{template_id}", **template,
         body=lambda v: {"name": "Renamed"})
register("POST", "/api/v1/templates/{template_id}/publish", **template)
register("POST", "/api/v1/templates/{template_id}/archive", **template)
register("POST", "/api/v1/templates/{template_id}/preview", **template, body=lambda v: {})
