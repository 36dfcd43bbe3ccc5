"""People URLs: one include per area module in `views/` (each exposes `urlpatterns`).

Org pages live under `o/<org_slug>/people/...`; the area modules spell out the full path.
"""

from django.urls import include, path

app_name = "people"

urlpatterns: list = [
    # path("", include("tend.people.views.<area>")),
    path("", include("tend.people.views.contacts")),
    path("", include("tend.people.views.companies")),
    path("", include("tend.people.views.hooks")),
    path("", include("tend.people.views.ingestion")),
    path("", include("tend.people.views.contact_page")),
    path("", include("tend.people.views.contact_edits")),
    path("", include("tend.people.views.tasks")),
    path("", include("tend.people.views.duplicates")),
    path("", include("tend.people.views.privacy_exports")),
    path("", include("tend.people.views.imports")),
]
