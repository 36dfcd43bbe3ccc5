"""Every error of the API is an RFC 9457 problem document with field-level details."""

import logging

import pytest

from tend.core.tests.apitools import signed_in

pytestmark = pytest.mark.urls("tend.core.tests.api_probe")


@pytest.fixture
def client(tenant, owner):
    return signed_in(owner, tenant)


def _problem(response):
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == response.status_code
    assert set(body) == {"type", "title", "status", "detail", "instance", "code", "errors"}
    return body


def test_schema_validation_is_422_with_one_error_per_field(client):
    response = client.post("/probe/notes", {"count": "many"}, content_type="application/json")
    assert response.status_code == 422
    assert _problem(response) == {
        "type": "urn:tend:problem:validation_failed",
        "title": "The input is not valid.",
        "status": 422,
        "detail": "Some fields are not valid; see errors.",
        "instance": "/probe/notes",
        "code": "validation_failed",
        "errors": [
            {"field": "text", "loc": ["body", "payload", "text"], "message": "Field required",
             "type": "missing"},
            {"field": "count", "loc": ["body", "payload", "count"],
             "message": "Input should be a valid integer, unable to parse string as an integer",
             "type": "int_parsing"},
        ],
    }


def test_query_validation_names_the_parameter(client):
    response = client.get("/probe/entries?limit=500")
    assert response.status_code == 422
    assert _problem(response)["errors"] == [{
        "field": "limit", "loc": ["query", "limit"],
        "message": "Input should be less than or equal to 200", "type": "less_than_equal",
    }]


@pytest.mark.parametrize("body", ["{not json", '{"text": "x",}', "\xff"])
def test_malformed_json_is_400(client, body):
    response = client.post("/probe/notes", body, content_type="application/json")
    assert response.status_code == 400
    problem = _problem(response)
    assert (problem["code"], problem["detail"]) == ("bad_request", "Cannot parse request body")


def test_json_that_is_not_an_object_is_422(client):
    response = client.post("/probe/notes", "[1, 2]", content_type="application/json")
    assert response.status_code == 422
    errors = _problem(response)["errors"]
    assert errors[0] == {"field": "text", "loc": ["body", "payload", "text"],
                         "message": "Field required", "type": "missing"}


@pytest.mark.parametrize(("kind", "status", "code", "title", "detail", "errors"), [
    ("http", 418, "http_error", "I'm a Teapot", "I am a teapot.", []),
    ("http404", 404, "not_found", "Not Found", "Not found.", []),
    ("doesnotexist", 404, "not_found", "Not Found", "Not found.", []),
    ("django-forbidden", 403, "permission_denied", "Forbidden", "No.", []),
    ("django-validation", 422, "validation_failed", "The input is not valid.",
     "Some fields are not valid; see errors.",
     [{"field": "name", "loc": ["name"], "message": "Too short."}]),
    ("conflict", 409, "conflict", "The request conflicts with the current state.", "Busy.",
     [{"field": "state", "loc": ["state"], "message": "Already done."}]),
])
def test_exceptions_become_problems(client, kind, status, code, title, detail, errors):
    response = client.get(f"/probe/raise/{kind}")
    assert response.status_code == status
    problem = _problem(response)
    assert (problem["code"], problem["title"], problem["detail"], problem["errors"]) == (
        code, title, detail, errors)
    assert problem["type"] == f"urn:tend:problem:{code}"
    assert problem["instance"] == f"/probe/raise/{kind}"


def test_missing_permission_is_403_naming_it(tenant, make_user):
    from tend.core.tests.apitools import add_member

    agent = make_user("agent@example.com")
    add_member(tenant, agent, "agent")
    response = signed_in(agent, tenant).get("/probe/entries")
    assert response.status_code == 403
    assert _problem(response)["detail"] == (
        "You do not have permission to do this (needs audit.view).")


def test_a_bug_is_a_logged_500_without_details(client, caplog):
    with caplog.at_level(logging.ERROR, logger="tend.api"):
        response = client.get("/probe/raise/bug")
    assert response.status_code == 500
    problem = _problem(response)
    assert problem["detail"] == "Something went wrong on our side. It was logged."
    assert "canary-bug-text" not in response.content.decode()
    assert [r.exc_info[1].args for r in caplog.records if r.name == "tend.api"] == [
        ("canary-bug-text",)]


def test_unauthenticated_is_401_problem(db):
    from django.test import Client

    response = Client().get("/probe/whoami")
    assert response.status_code == 401
    problem = _problem(response)
    assert problem["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="tend"'




@pytest.mark.urls("tend.urls")
def test_an_unknown_api_path_is_a_404_problem(db):
    from django.test import Client

    response = Client().get("/api/v1/no/such/thing")
    assert response.status_code == 404
    assert _problem(response)["detail"] == "There is no such API route."


@pytest.mark.urls("tend.urls")
def test_openapi_document_and_docs_are_served(db):
    from django.test import Client

    client = Client()
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/api-keys/{key_id}/revoke" in schema.json()["paths"]
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.urls("tend.urls")
def test_openapi_describes_problem_responses(db):
    from django.test import Client

    schema = Client().get("/api/v1/openapi.json").json()
    revoke = schema["paths"]["/api/v1/api-keys/{key_id}/revoke"]["post"]["responses"]
    assert sorted(revoke) == ["200", "400", "401", "403", "404", "409", "422"]
    assert revoke["404"]["content"] == {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}
    assert schema["components"]["schemas"]["Problem"]["required"] == [
        "type", "title", "status", "detail", "instance", "code", "errors"]
    assert "409" not in schema["paths"]["/api/v1/me"]["get"]["responses"]


@pytest.mark.urls("tend.urls")
def test_a_wrong_method_is_a_405_problem_naming_the_allowed_ones(tenant, owner):
    client = signed_in(owner, tenant)

    response = client.delete("/api/v1/organization")

    assert response.status_code == 405
    problem = _problem(response)
    assert problem["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, PATCH"
    assert problem["detail"] == "DELETE is not allowed here. Allowed: GET, PATCH."
