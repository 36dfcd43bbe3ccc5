"""The marketing module's API routes."""

from ninja import Router

router = Router()
router.add_router("", "tend.marketing.api.segments.router")
