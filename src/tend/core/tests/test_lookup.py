import uuid

import pytest

from tend.core.errors import NotFound
from tend.core.models import Tag
from tend.core.selectors.lookup import one_or_not_found
from tend.core.services.tags import tag_create

pytestmark = pytest.mark.django_db


def test_one_or_not_found(scoped, system_actor):
    tag = tag_create(tenant=scoped, actor=system_actor, name="VIP")
    rows = Tag.objects.filter(tenant=scoped)
    assert one_or_not_found(rows, tag.pk, "No such tag.") == tag
    assert one_or_not_found(rows, str(tag.pk), "No such tag.") == tag
    for bad in (uuid.uuid4(), "not-a-uuid", None, 12):
        with pytest.raises(NotFound) as caught:
            one_or_not_found(rows, bad, "No such tag.")
        assert caught.value.message == "No such tag."
