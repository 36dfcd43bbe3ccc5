"""Webhook subscriptions and journey WEBHOOK steps call only public http(s) addresses: a URL
whose host is (or resolves to) a loopback, private, link-local, multicast, reserved or
unspecified address is refused when saved (a field error) and again when sent (a failed
attempt, no request). The suite allows private addresses for its 127.0.0.1 receivers; these
tests switch that off."""

from __future__ import annotations

import pytest
from django.test import Client

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.outbound import is_public_address, public_target, url_problem
from tend.core.tests.apitools import bearer, make_key
from tend.marketing.models import DeliveryStatus, WebhookDelivery
from tend.marketing.services import webhooks_out as svc
from tend.marketing.services.journeys_validation import clean_steps
from tend.marketing.tasks_journeys import journey_webhook_task
from tend.marketing.tests.webhook_receiver import FakeReceiver

SYSTEM = Actor.system()
PRIVATE = "This address points to a local or private network; give a public one."


@pytest.fixture
def receiver():
    with FakeReceiver() as fake:
        yield fake


@pytest.fixture
def strict(settings):
    settings.TEND_WEBHOOKS_ALLOW_PRIVATE = False
    return settings


@pytest.fixture(autouse=True)
def _fresh_cache():
    svc._listening.clear()
    yield
    svc._listening.clear()


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",  # noqa: S104
    "224.0.0.1", "240.0.0.1", "100.64.0.1", "::1", "::", "fe80::1", "fc00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::", "2002:a9fe:a9fe::1",
    "not an address"])
def test_local_private_and_reserved_addresses_are_not_public(address):
    assert is_public_address(address) is False


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8"])
def test_global_addresses_are_public(address):
    assert is_public_address(address) is True


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/in", "http://localhost/in", "http://[::1]/in",
    "http://169.254.169.254/latest/meta-data", "https://10.0.0.5/hook", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/"])
def test_urls_reaching_private_networks_are_refused_at_save(strict, url):
    assert url_problem(url) == PRIVATE


def test_scheme_and_public_literal_at_save(strict):
    assert url_problem("ftp://files.example.org/x") == "Enter an http or https URL."
    assert url_problem("file:///etc/passwd") == "Enter an http or https URL."
    assert url_problem("https://93.184.216.34/hook") is None
    # A name that does not resolve yet may be saved; sending refuses it until it does.
    assert url_problem("https://hooks.nowhere.invalid/in") is None


def test_subscription_api_refuses_a_private_url_with_a_field_error(strict, tenant, owner,
                                                                   receiver):
    _key, secret = make_key(tenant, owner, ["webhooks.view", "webhooks.manage"])
    api = Client(headers=bearer(secret))
    made = api.post("/api/v1/webhooks", {"name": "CRM", "url": receiver.url + "/in",
                                         "event_types": ["*"]}, content_type="application/json")
    assert made.status_code == 422
    assert [(e["field"], e["message"]) for e in made.json()["errors"]] == [("url", PRIVATE)]
    strict.TEND_WEBHOOKS_ALLOW_PRIVATE = True
    allowed = api.post("/api/v1/webhooks", {"name": "CRM", "url": receiver.url + "/in",
                                            "event_types": ["*"]},
                       content_type="application/json")
    assert allowed.status_code == 201


def test_delivery_to_a_private_address_fails_without_a_request(settings, scoped, receiver):
    sub, _secret = svc.webhook_subscription_create(tenant=scoped, actor=SYSTEM, data={
        "name": "Booking", "url": receiver.url + "/in", "event_types": ["contact.created"]})
    settings.TEND_WEBHOOKS_ALLOW_PRIVATE = False  # the address became private after saving
    svc.webhook_emit(tenant=scoped, key="contact.created", payload={})
    assert svc.webhooks_deliver_due(tenant=scoped) == 1
    delivery = WebhookDelivery.objects.get(subscription=sub)
    assert (delivery.status, delivery.attempt, delivery.response_code, delivery.error) == (
        DeliveryStatus.PENDING, 1, None, PRIVATE)
    tested = svc.webhook_send_test(tenant=scoped, actor=SYSTEM, subscription=sub)
    assert (tested.status, tested.error) == (DeliveryStatus.FAILED, PRIVATE)
    assert receiver.requests() == []


def test_delivery_is_pinned_to_the_checked_address(settings, scoped, receiver):
    """A host name is resolved once, checked, and the request goes to that address with the
    name kept in the Host header."""
    port = receiver.url.rsplit(":", 1)[1]
    target = public_target(f"http://localhost:{port}/in")
    assert (target.url, target.headers) == (f"http://127.0.0.1:{port}/in",
                                            {"Host": f"localhost:{port}"})
    sub, _secret = svc.webhook_subscription_create(tenant=scoped, actor=SYSTEM, data={
        "name": "Booking", "url": f"http://localhost:{port}/in",
        "event_types": ["contact.created"]})
    tested = svc.webhook_send_test(tenant=scoped, actor=SYSTEM, subscription=sub)
    assert tested.status == DeliveryStatus.SUCCEEDED
    [request] = receiver.requests()
    assert request.headers["host"] == f"localhost:{port}"


def test_journey_webhook_step_refuses_a_private_url_at_save(strict, scoped):
    steps = [{"key": "t", "type": "TRIGGER", "next": "w"},
             {"key": "w", "type": "WEBHOOK", "next": "",
              "config": {"url": "http://169.254.169.254/latest"}}]
    with pytest.raises(ValidationFailed) as refused:
        clean_steps(tenant=scoped, steps=steps)
    assert refused.value.fields == {"steps.w": [PRIVATE]}
    steps[1]["config"]["url"] = "https://93.184.216.34/hook"
    assert clean_steps(tenant=scoped, steps=steps)[1]["config"] == {
        "url": "https://93.184.216.34/hook"}


def test_journey_webhook_call_to_a_private_address_makes_no_request(settings, tenant,
                                                                    receiver):
    settings.TEND_WEBHOOKS_ALLOW_PRIVATE = False
    assert journey_webhook_task.call(str(tenant.pk), receiver.url + "/j", {"a": 1}, "k1") == 0
    assert receiver.requests() == []
    settings.TEND_WEBHOOKS_ALLOW_PRIVATE = True
    assert journey_webhook_task.call(str(tenant.pk), receiver.url + "/j", {"a": 1}, "k2") == 200
    [request] = receiver.requests()
    assert (request.path, request.headers["idempotency-key"]) == ("/j", "k2")


def _tls_files(tmp_path):
    """A certificate authority and a server certificate for a.test only (PEM files)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Test CA")).issuer_name(name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(name("a.test")).issuer_name(name("Test CA"))
            .public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.test")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(cert.public_bytes(pem) + key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return tmp_path / "ca.pem", tmp_path / "server.pem"


def test_a_kept_connection_is_not_reused_for_another_host_name(settings, monkeypatch,
                                                               tmp_path):
    """Two names at one address: a TLS connection whose certificate was checked for a.test
    does not carry the request for b.test (whose certificate the server does not have)."""
    import http.server
    import ssl
    import threading
    import uuid

    from tend.marketing.models import WebhookSubscription

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    ca, server_pem = _tls_files(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_pem)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    settings.TEND_WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    monkeypatch.setattr("tend.core.outbound._resolve", lambda parsed: ["127.0.0.1"])
    svc._clients.clear()
    try:
        def post(host):
            sub = WebhookSubscription(url=f"https://{host}:{port}/in")
            return svc._post(WebhookDelivery(subscription=sub, payload={}, event_type="t",
                                             event_id=uuid.uuid4()), "secret")

        assert post("a.test").ok
        refused = post("b.test")
        assert not refused.ok and refused.status_code is None
        assert post("a.test").ok
    finally:
        server.shutdown()
        server.server_close()
        svc._clients.clear()


@pytest.mark.parametrize("url", ["https://[2606:4700:4700:0::1111]/in",
                                 "https://[2606:4700:4700::1111]/in",
                                 "http://[2606:4700:4700:0:0:0:0:1111]:8080/in"])
def test_an_ip_literal_in_any_spelling_is_requested_as_written(strict, url):
    """Nothing to pin for an address: no Host header of our own (an IPv6 one would need
    brackets) and no TLS server name (an address is not one)."""
    target = public_target(url)
    assert (target.headers, target.extensions) == ({}, {})
    assert "2606:4700:4700:" in target.url
