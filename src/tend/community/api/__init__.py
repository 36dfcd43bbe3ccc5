"""The community module's API routes (one `router.add_router` line per area module)."""

from ninja import Router

router = Router()
router.add_router("", "tend.community.api.care_units.router")
router.add_router("", "tend.community.api.care_people.router")
router.add_router("", "tend.community.api.care_courses.router")
router.add_router("", "tend.community.api.care_attention.router")
router.add_router("", "tend.community.api.pods_core.router")
router.add_router("", "tend.community.api.pods_settings.router")
router.add_router("", "tend.community.api.pods_commitments.router")
