"""Isolation entries for the rules API. The rule names the victim's tag: for anyone else that
tag does not exist, so validating reports it and counting is a 422 — never the victim's
members."""

from tend.core.tests.isolation import register

register("GET", "/api/v1/rules/fields", targets_victim=False)
register("POST", "/api/v1/rules/validate", targets_victim=False,
         body=lambda v: {"rule": {"combinator": "and", "rules": [
             {"field": "tags", "operator": "hasAny", "value": [str(v.tag.pk)]}]}})
register("POST", "/api/v1/rules/count", targets_victim=True, also_ok=(422,),
         body=lambda v: {"rule": {"combinator": "and", "rules": [
             {"field": "tags", "operator": "hasAny", "value": [str(v.tag.pk)]}]}})
