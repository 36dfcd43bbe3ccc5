"""Primary keys: UUIDv7, time-ordered so new rows append to the index instead of scattering."""

import uuid

from uuid_utils.compat import uuid7 as _uuid7


def uuid7() -> uuid.UUID:
    return _uuid7()
