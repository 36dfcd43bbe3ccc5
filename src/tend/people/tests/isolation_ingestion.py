"""Isolation entries for activities ingestion, ingestion sources and the ingestion log."""

from tend.core.tests.isolation import register, victim_builder
from tend.people.choices import IngestionStatus
from tend.people.models import Activity, Contact, IngestionLog, IngestionSource


@victim_builder
def _ingestion(v, c):
    v.ingest_contact = Contact.objects.create(
        tenant=v.tenant, first_name=c("ingest first"), display_name=c("ingest display"),
        primary_email=f"{c('ingest email')}@victim.example")
    v.ingest_activity = Activity.objects.create(
        tenant=v.tenant, contact=v.ingest_contact, type="BOOKING_CONFIRMED",
        title=c("activity title"), description=c("activity description"),
        metadata={"note": c("activity metadata")}, source="booking",
        source_event_id=c("activity event id"))
    v.ingest_source = IngestionSource.objects.create(
        tenant=v.tenant, name=c("source name"), key=c("source key"),
        secret_encrypted=c("source secret"))
    v.ingest_log = IngestionLog.objects.create(
        tenant=v.tenant, source=v.ingest_source, source_name=c("log source name"),
        source_event_id=c("log event id"), status=IngestionStatus.FAILED,
        error=c("log error"), payload={"x": c("log payload")})


# Lists act on the caller's own organization.
register("GET", "/api/v1/activities", targets_victim=False, query=lambda v: {"limit": 5})
register("GET", "/api/v1/ingestion-sources", targets_victim=False)
register("GET", "/api/v1/ingestion-logs", targets_victim=False,
         query=lambda v: {"status": "FAILED"})
register("POST", "/api/v1/ingestion-sources", targets_victim=False,
         body=lambda v: {"name": "Suite source"})

# The body names the victim's contact: another organization gets a field error (422), and
# nothing is stored.
register("POST", "/api/v1/activities", targets_victim=True, also_ok=(422,),
         body=lambda v: {"contact_id": str(v.ingest_contact.pk), "type": "SUITE_EVENT"})

source = {"path": lambda v: {"source_id": v.ingest_source.pk}}
register("GET", "/api/v1/ingestion-sources/{source_id}", **source)
register("PATCH", "/api/v1/ingestion-sources/{source_id}", **source,
         body=lambda v: {"name": "Renamed source"})
register("POST", "/api/v1/ingestion-sources/{source_id}/rotate-secret", **source)
register("POST", "/api/v1/ingestion-sources/{source_id}/deactivate", **source)
register("DELETE", "/api/v1/ingestion-sources/{source_id}", **source)
