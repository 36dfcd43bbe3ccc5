"""In a real browser: add an ingestion source, see its address and secret once, deliver a
signed activity to it, find it in the ingestion log, then deactivate the source."""

import json
import time
import urllib.error
import urllib.request

import pytest

from tend.people.services.sources import signature_compute

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _deliver(url: str, secret: str, body: dict) -> int:
    data = json.dumps(body).encode()
    stamp = str(int(time.time()))
    assert url.startswith("http://")
    request = urllib.request.Request(url, data=data, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json", "X-Tend-Timestamp": stamp,
        "X-Tend-Signature": signature_compute(secret, stamp, data)})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_add_a_source_deliver_and_deactivate(page, login, make_tenant, make_user):
    owner = make_user("hooks-owner@example.com")
    make_tenant("Hook Club", slug="hookclub", owner=owner)
    login("hooks-owner@example.com")

    page.goto("/o/hookclub/settings/ingestion/")
    page.get_by_label("Name").fill("Booking system")
    page.locator("#source-add").click()
    page.wait_for_load_state()
    url = page.locator("#source-url").inner_text().strip()
    secret = page.locator("#source-secret").inner_text().strip()
    assert "/hooks/sources/" in url
    assert secret.startswith("whsec_")

    body = {"identifiers": [{"type": "EMAIL", "value": "guest@example.com"}],
            "type": "BOOKING_CONFIRMED", "source_event_id": "booking-77"}
    assert _deliver(url, secret, body) == 200
    assert _deliver(url, "whsec_wrong", body) == 403

    page.locator("#source-done").click()
    page.wait_for_load_state()
    assert secret not in page.content()
    row = page.locator("#log-table tbody tr").first
    assert "booking-77" in row.inner_text()
    assert row.get_attribute("data-status") == "PROCESSED"

    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#sources-table button.danger").click()
    page.wait_for_load_state()
    assert page.locator("#sources-table tbody tr").first.get_attribute("data-active") == "false"
    assert _deliver(url, secret, {**body, "source_event_id": "booking-78"}) == 403
