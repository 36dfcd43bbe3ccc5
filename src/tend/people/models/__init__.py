from tend.people.models.activities import Activity, Interaction, Note, Task
from tend.people.models.consent import Consent, ConsentEvent
from tend.people.models.contacts import Company, Contact, ContactTag, IdentityAlias, SavedView
from tend.people.models.duplicates import DuplicateCandidate
from tend.people.models.imports import ContactImport
from tend.people.models.ingestion import IngestionLog, IngestionSource

__all__ = [
    "Activity",
    "Company",
    "Consent",
    "ConsentEvent",
    "Contact",
    "ContactImport",
    "ContactTag",
    "DuplicateCandidate",
    "IdentityAlias",
    "IngestionLog",
    "IngestionSource",
    "Interaction",
    "Note",
    "SavedView",
    "Task",
]
