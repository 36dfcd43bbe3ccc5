"""The people module's API routes. Each area lives in its own module and is added to `router`
here with one line; the import string keeps areas independent of each other."""

from ninja import Router

router = Router()
# router.add_router("", "tend.people.api.<area>.router")
router.add_router("", "tend.people.api.activities.router")
router.add_router("", "tend.people.api.ingestion.router")
router.add_router("", "tend.people.api.duplicates.router")
router.add_router("", "tend.people.api.merge.router")
router.add_router("", "tend.people.api.privacy.router")
router.add_router("", "tend.people.api.timeline.router")
router.add_router("", "tend.people.api.notes.router")
router.add_router("", "tend.people.api.interactions.router")
router.add_router("", "tend.people.api.tasks.router")
router.add_router("", "tend.people.api.consents.router")
router.add_router("", "tend.people.api.contacts.router")
router.add_router("", "tend.people.api.companies.router")
router.add_router("", "tend.people.api.imports.router")
router.add_router("", "tend.people.api.savedviews.router")
