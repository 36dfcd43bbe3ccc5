"""The marketing module's API routes."""

from ninja import Router

router = Router()
router.add_router("", "tend.marketing.api.segments.router")
router.add_router("", "tend.marketing.api.journeys.router")
router.add_router("", "tend.marketing.api.campaigns.router")
router.add_router("", "tend.marketing.api.reminders.router")
router.add_router("", "tend.marketing.api.social.router")
router.add_router("", "tend.marketing.api.webhooks_out.router")
