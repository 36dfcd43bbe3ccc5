"""The core's API routes: organization, members, roles, API keys, custom fields, tags, audit,
jobs. Each area lives in its own module and is added to `router` here."""

from ninja import Router

router = Router()
# One line per area; the import string keeps areas independent of each other.
router.add_router("", "tend.core.api.apikeys.router")
router.add_router("", "tend.core.api.organization.router")
router.add_router("", "tend.core.api.jobs.router")
router.add_router("", "tend.core.api.members.router")
router.add_router("", "tend.core.api.roles.router")
router.add_router("", "tend.core.api.customfields.router")
router.add_router("", "tend.core.api.tags.router")
router.add_router("", "tend.core.api.audit.router")
router.add_router("", "tend.core.api.notifications.router")
