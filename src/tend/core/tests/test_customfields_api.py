"""/api/v1/custom-fields and /api/v1/custom-field-entities."""

from __future__ import annotations

import pytest

from tend.core.models import CustomFieldDefinition
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import bearer, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def manage(tenant, owner):
    return make_key(tenant, owner, ["customfields.view", "customfields.manage"])[1]


@pytest.fixture
def view(tenant, owner):
    return make_key(tenant, owner, ["customfields.view"])[1]


def _post(client, key, body):
    return client.post("/api/v1/custom-fields", body, content_type="application/json",
                       headers=bearer(key))


def _errors(response):
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_entities_lists_registered_types(client, tenant, view):
    response = client.get("/api/v1/custom-field-entities", headers=bearer(view))
    keys = [e["key"] for e in response.json()]
    assert {"contact", "company"} <= set(keys)
    assert {e["key"]: e["label"] for e in response.json()}["contact"] == "Contacts"


def test_create_get_patch_deactivate_activate(client, tenant, manage):
    response = _post(client, manage, {
        "entity_type": "contact", "key": "level", "label": {"en": "Level", "ar": "المستوى"},
        "field_type": "choice", "required": True,
        "choices": [{"value": "gold", "label": {"en": "Gold"}}, {"value": "silver"}],
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["key"], body["field_type"], body["required"], body["position"],
            body["is_active"]) == ("level", "choice", True, 0, True)
    assert body["choices"] == [{"value": "gold", "label": {"en": "Gold"}},
                               {"value": "silver", "label": {"en": "silver"}}]
    url = f"/api/v1/custom-fields/{body['id']}"

    response = client.patch(url, {"required": False, "help_text": "Tier"},
                            content_type="application/json", headers=bearer(manage))
    assert (response.json()["required"], response.json()["help_text"],
            response.json()["label"]) == (False, "Tier", {"en": "Level", "ar": "المستوى"})

    deactivated = client.post(f"{url}/deactivate", headers=bearer(manage)).json()
    activated = client.post(f"{url}/activate", headers=bearer(manage)).json()
    assert (deactivated["is_active"], activated["is_active"]) == (False, True)


def test_list_filters_by_entity_type_and_state(client, tenant, manage):
    _post(client, manage, {"entity_type": "contact", "key": "a", "label": {"en": "A"},
                           "field_type": "text"})
    b = _post(client, manage, {"entity_type": "contact", "key": "b", "label": {"en": "B"},
                               "field_type": "number"}).json()
    _post(client, manage, {"entity_type": "company", "key": "c", "label": {"en": "C"},
                           "field_type": "url"})
    client.post(f"/api/v1/custom-fields/{b['id']}/deactivate", headers=bearer(manage))

    def keys(**params):
        body = client.get("/api/v1/custom-fields", params, headers=bearer(manage)).json()
        return [f["key"] for f in body["items"]]

    assert keys() == ["c", "a", "b"]
    assert keys(entity_type="contact") == ["a", "b"]
    assert keys(entity_type="contact", is_active="true") == ["a"]


def test_bad_definitions_are_422_per_field(client, tenant, manage):
    assert _errors(_post(client, manage, {
        "entity_type": "spaceship", "key": "Bad Key", "label": {"en": ""}, "field_type": "text",
        "choices": [{"value": "x"}],
    })) == {
        "entity_type": "Choose one of the listed record types.",
        "key": "Start with a letter; use lowercase letters, digits and _ (at most 64).",
        "label": "This field is required.",
        "choices": "Only choice fields have choices.",
    }
    assert _errors(_post(client, manage, {
        "entity_type": "contact", "key": "k", "label": {"en": "K"}, "field_type": "colour",
    }))["field_type"].startswith("Input should be")


def test_type_and_key_cannot_be_patched(client, tenant, manage):
    body = _post(client, manage, {"entity_type": "contact", "key": "k", "label": {"en": "K"},
                                  "field_type": "text"}).json()
    response = client.patch(f"/api/v1/custom-fields/{body['id']}",
                            {"field_type": "number", "key": "z"},
                            content_type="application/json", headers=bearer(manage))
    assert set(_errors(response)) == {"field_type", "key"}


def test_view_key_cannot_manage(client, tenant, view):
    response = _post(client, view, {"entity_type": "contact", "key": "k",
                                    "label": {"en": "K"}, "field_type": "text"})
    assert response.status_code == 403
    with tenant_scope(tenant):
        assert CustomFieldDefinition.objects.count() == 0
