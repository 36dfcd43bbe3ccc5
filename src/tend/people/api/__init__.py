"""The people module's API routes. Each area lives in its own module and is added to `router`
here with one line; the import string keeps areas independent of each other."""

from ninja import Router

router = Router()
# router.add_router("", "tend.people.api.<area>.router")
