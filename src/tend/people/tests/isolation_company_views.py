"""Isolation entries for a company's timeline and the saved contact list views. The victim
gets a company with a contact and activities, and a saved view, all named with canaries."""

from tend.core.tests.isolation import register, victim_builder
from tend.people.models import Activity, Company, Contact, SavedView


@victim_builder
def _company_views(v, c):
    v.timeline_company = Company.objects.create(tenant=v.tenant, name=c("timeline company"))
    person = Contact.objects.create(tenant=v.tenant, company=v.timeline_company,
                                    first_name=c("timeline person"),
                                    display_name=c("timeline person display"))
    Activity.objects.create(tenant=v.tenant, contact=person, type="EVENT_ATTENDED",
                            category="EVENTS", title=c("company person activity"))
    Activity.objects.create(tenant=v.tenant, company=v.timeline_company, type="DEAL_WON",
                            category="SALES", title=c("company activity"))
    v.saved_view = SavedView.objects.create(
        tenant=v.tenant, name=c("saved view"), owner=v.owner, is_shared=True,
        filters={"q": c("saved view search")}, columns=["email"])


register("GET", "/api/v1/companies/{company_id}/timeline",
         path=lambda v: {"company_id": v.timeline_company.pk}, query=lambda v: {"limit": 5})

# Views act on the caller's own organization's list; the victim's shared view is a 404.
register("GET", "/api/v1/saved-views", targets_victim=False)
register("POST", "/api/v1/saved-views", targets_victim=False,
         body=lambda v: {"name": "Suite view", "columns": ["email"]})
view = {"path": lambda v: {"view_id": v.saved_view.pk}}
register("GET", "/api/v1/saved-views/{view_id}", **view)
register("PATCH", "/api/v1/saved-views/{view_id}", **view, body=lambda v: {"name": "Renamed"})
register("DELETE", "/api/v1/saved-views/{view_id}", **view)
