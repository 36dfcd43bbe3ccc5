"""The core's API routes: organization, members, roles, API keys, custom fields, tags, audit,
jobs. Each area lives in its own module and is added to `router` here."""

from ninja import Router

router = Router()
