"""The messaging module's API routes (one `router.add_router` line per area module)."""

from ninja import Router

router = Router()
router.add_router("", "tend.messaging.api.channels.router")
router.add_router("", "tend.messaging.api.conversations.router")
router.add_router("", "tend.messaging.api.templates.router")
router.add_router("", "tend.messaging.api.outbox.router")
