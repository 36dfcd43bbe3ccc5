"""The fake provider servers, driven with httpx as the product's client code drives them."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading

import httpx
import pytest

from tend.messaging.fakes import (
    Delay,
    Drop,
    FakeHTTPServer,
    FakeSMS,
    FakeSMTP,
    FakeTelegram,
    FakeWhatsApp,
    Response,
    twilio_signature,
)
from tend.messaging.fakes.pytest_plugin import (  # noqa: F401 - fixtures
    fake_sms,
    fake_smtp,
    fake_telegram,
    fake_whatsapp,
)

# -- the shared base ---------------------------------------------------------------------


def test_a_fake_listens_on_an_ephemeral_port_and_stops(fake_telegram):  # noqa: F811
    # Given a running fake
    assert fake_telegram.url.startswith("http://127.0.0.1:")
    assert fake_telegram.port > 0
    # When it stops, then nothing listens there any more
    url = fake_telegram.url
    fake_telegram.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/bot{fake_telegram.token}/getMe")


def test_keep_alive_serves_many_requests_on_one_connection(fake_telegram):  # noqa: F811
    # Given a client with one pooled connection
    ports: set[int] = set()
    with httpx.Client(base_url=fake_telegram.url,
                      limits=httpx.Limits(max_connections=1)) as client:
        for n in range(5):
            response = client.post(f"/bot{fake_telegram.token}/sendMessage",
                                   json={"chat_id": 7, "text": f"n{n}"})
            assert response.status_code == 200
            stream = response.extensions["network_stream"]
            ports.add(stream.get_extra_info("client_addr")[1])
    # Then every request went over the same connection
    assert len(ports) == 1
    assert [m.text for m in fake_telegram.sent] == ["n0", "n1", "n2", "n3", "n4"]


def test_connection_close_is_honoured(fake_telegram):  # noqa: F811
    with httpx.Client(base_url=fake_telegram.url) as client:
        response = client.get(f"/bot{fake_telegram.token}/getMe",
                              headers={"Connection": "close"})
    assert response.headers["connection"] == "close"
    assert response.json()["ok"] is True


def test_the_script_answers_matching_requests_in_order_then_normal_answers_resume(
        fake_telegram):  # noqa: F811
    # Given two 429s and a 502 scripted for sendMessage only
    fake_telegram.script(FakeTelegram.rate_limited(3), times=2, op="sendMessage")
    fake_telegram.script(FakeTelegram.server_error(502), op="sendMessage")
    base = f"{fake_telegram.url}/bot{fake_telegram.token}"
    with httpx.Client() as client:
        # When getMe is called in between, it is not affected
        assert client.get(f"{base}/getMe").status_code == 200
        statuses = [client.post(f"{base}/sendMessage", json={"chat_id": 1, "text": "x"})
                    for _ in range(4)]
    # Then the script plays in order, then the normal answer comes back
    assert [r.status_code for r in statuses] == [429, 429, 502, 200]
    assert statuses[0].json() == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3}}
    assert statuses[2].json() == {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    # And only the last one was sent; every attempt was recorded
    assert len(fake_telegram.sent) == 1
    assert [r.fault for r in fake_telegram.requests("sendMessage")] == [
        "Response", "Response", "Response", ""]
    assert fake_telegram.pending_faults() == 0


def test_a_delay_longer_than_the_client_timeout_times_out_but_the_message_was_accepted(
        fake_telegram):  # noqa: F811
    fake_telegram.script(Delay(1.0))
    with httpx.Client(timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        client.post(f"{fake_telegram.url}/bot{fake_telegram.token}/sendMessage",
                    json={"chat_id": 5, "text": "late"})
    # The provider accepted it: the classic duplicate window
    assert [m.text for m in fake_telegram.sent] == ["late"]


def test_a_delay_with_a_response_answers_late_and_keeps_the_connection(
        fake_telegram):  # noqa: F811
    fake_telegram.script(Delay(0.05, FakeTelegram.server_error(503, "Service Unavailable")))
    base = f"{fake_telegram.url}/bot{fake_telegram.token}"
    with httpx.Client(timeout=5) as client:
        first = client.post(f"{base}/sendMessage", json={"chat_id": 5, "text": "a"})
        second = client.post(f"{base}/sendMessage", json={"chat_id": 5, "text": "b"})
    assert (first.status_code, second.status_code) == (503, 200)
    assert [m.text for m in fake_telegram.sent] == ["b"]


@pytest.mark.parametrize("reset", [False, True])
def test_a_dropped_connection_is_a_transport_error(fake_telegram, reset):  # noqa: F811
    fake_telegram.script(Drop(reset=reset))
    with httpx.Client() as client, pytest.raises(httpx.TransportError):
        client.post(f"{fake_telegram.url}/bot{fake_telegram.token}/sendMessage",
                    json={"chat_id": 5, "text": "lost"})
    assert fake_telegram.sent == []
    assert fake_telegram.count("sendMessage") == 1


def test_a_drop_after_processing_loses_only_the_answer(fake_telegram):  # noqa: F811
    fake_telegram.script(Drop(process=True))
    with httpx.Client() as client, pytest.raises(httpx.TransportError):
        client.post(f"{fake_telegram.url}/bot{fake_telegram.token}/sendMessage",
                    json={"chat_id": 5, "text": "accepted"})
    assert [m.text for m in fake_telegram.sent] == ["accepted"]


def test_random_failures_are_reproducible_with_a_seed():
    def run() -> list[int]:
        with FakeTelegram() as fake:
            fake.fail_randomly(0.3, seed=42)
            with httpx.Client(base_url=f"{fake.url}/bot{fake.token}") as client:
                return [client.post("/sendMessage", json={"chat_id": 1, "text": "x"}).status_code
                        for _ in range(40)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {200, 429, 502}
    assert 5 <= sum(s != 200 for s in first) <= 20


def test_max_rate_counts_the_busiest_sliding_window(fake_telegram):  # noqa: F811
    key = "chat:x:1"
    with fake_telegram.lock:
        from array import array

        fake_telegram._times[key] = array("d", [0.0, 0.5, 0.99, 1.0, 1.2, 3.0])
    assert fake_telegram.max_rate(key, 1.0) == 4  # 0.5, 0.99, 1.0, 1.2
    assert fake_telegram.max_rate(key, 0.1) == 2  # 0.99, 1.0
    assert fake_telegram.max_rate("chat:x:unknown", 1.0) == 0


def test_rate_keys_and_reset(fake_telegram):  # noqa: F811
    token = fake_telegram.token
    with httpx.Client(base_url=f"{fake_telegram.url}/bot{token}") as client:
        for chat in (1, 1, 2):
            client.post("/sendMessage", json={"chat_id": chat, "text": "x"})
        client.get("/getMe")
    assert fake_telegram.rate_keys() == [f"bot:{token}", f"chat:{token}:1", f"chat:{token}:2"]
    assert fake_telegram.max_rate(f"bot:{token}", 60) == 3
    assert fake_telegram.max_rate(f"chat:{token}:1", 60) == 2
    stamps = fake_telegram.timestamps(f"bot:{token}")
    assert stamps == sorted(stamps)
    fake_telegram.script(FakeTelegram.rate_limited())
    # When reset, then everything recorded is gone but the bot keeps its token
    fake_telegram.reset()
    assert (fake_telegram.count(), fake_telegram.requests(), fake_telegram.sent) == (0, [], [])
    assert fake_telegram.pending_faults() == 0
    assert fake_telegram.token == token
    with httpx.Client(base_url=f"{fake_telegram.url}/bot{token}") as client:
        result = client.post("/sendMessage", json={"chat_id": 1, "text": "x"}).json()
    assert result["result"]["message_id"] == 1


def test_twenty_concurrent_clients(fake_telegram):  # noqa: F811
    token = fake_telegram.token

    async def client_task(n: int) -> list[int]:
        async with httpx.AsyncClient(base_url=f"{fake_telegram.url}/bot{token}") as client:
            ids = []
            for i in range(10):
                response = await client.post("/sendMessage",
                                             json={"chat_id": n, "text": f"{n}-{i}"})
                ids.append(response.json()["result"]["message_id"])
            return ids

    async def main() -> list[list[int]]:
        return await asyncio.gather(*(client_task(n) for n in range(1, 21)))

    # A fresh thread has no running event loop, whatever ran earlier in this one (Playwright's
    # sync API keeps one running in the main thread for the whole session).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        results = pool.submit(asyncio.run, main()).result()
    # Message ids increase per chat, with no gaps or repeats
    assert results == [list(range(1, 11))] * 20
    assert len(fake_telegram.sent) == 200
    assert fake_telegram.max_rate(f"bot:{token}", 3600) == 200
    assert len({m.text for m in fake_telegram.sent}) == 200


def test_records_are_safe_to_read_while_requests_arrive(fake_telegram):  # noqa: F811
    stop = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            seen.append(len(fake_telegram.requests()))
            fake_telegram.max_rate(f"bot:{fake_telegram.token}", 1.0)

    thread = threading.Thread(target=reader)
    thread.start()
    with httpx.Client(base_url=f"{fake_telegram.url}/bot{fake_telegram.token}") as client:
        for i in range(100):
            client.post("/sendMessage", json={"chat_id": 3, "text": str(i)})
    stop.set()
    thread.join()
    assert seen == sorted(seen)
    assert fake_telegram.count() == 100


def test_without_recording_only_counts_and_timestamps_are_kept():
    with FakeTelegram(record_requests=False) as fake:
        with httpx.Client(base_url=f"{fake.url}/bot{fake.token}") as client:
            for _ in range(3):
                client.post("/sendMessage", json={"chat_id": 3, "text": "x"})
        assert (fake.requests(), fake.sent, fake.count("sendMessage")) == ([], [], 3)
        assert len(fake.timestamps(f"chat:{fake.token}:3")) == 3


def test_a_malformed_request_gets_400_and_the_fake_keeps_serving(fake_telegram):  # noqa: F811
    import socket

    with socket.create_connection(("127.0.0.1", fake_telegram.port)) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 400 ")
    assert httpx.get(f"{fake_telegram.url}/bot{fake_telegram.token}/getMe").status_code == 200


# -- Telegram ------------------------------------------------------------------------------


@pytest.fixture
def bot(fake_telegram):  # noqa: F811
    with httpx.Client(base_url=f"{fake_telegram.url}/bot{fake_telegram.token}") as client:
        yield client


def test_telegram_get_me(fake_telegram, bot):  # noqa: F811
    result = bot.get("/getMe").json()
    bot_id = int(fake_telegram.token.split(":")[0])
    assert result == {"ok": True, "result": {
        "id": bot_id, "is_bot": True, "first_name": "Tend Test", "username": "tend_test_bot",
        "can_join_groups": True, "can_read_all_group_messages": False,
        "supports_inline_queries": False}}


def test_telegram_unknown_token_is_401(fake_telegram):  # noqa: F811
    response = httpx.post(f"{fake_telegram.url}/bot123:nope/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_telegram_unknown_method_is_404(bot):
    response = bot.post("/sendTelepathy", json={})
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_telegram_webhook_set_info_and_delete(fake_telegram, bot):  # noqa: F811
    response = bot.post("/setWebhook", json={
        "url": "https://crm.example/hooks/telegram/abc", "secret_token": "s3cr3t-_X",
        "allowed_updates": ["message", "callback_query"]})
    assert response.json() == {"ok": True, "result": True, "description": "Webhook was set"}
    assert fake_telegram.bot().webhook_url == "https://crm.example/hooks/telegram/abc"
    assert fake_telegram.bot().secret_token == "s3cr3t-_X"
    info = bot.get("/getWebhookInfo").json()["result"]
    assert info == {"url": "https://crm.example/hooks/telegram/abc",
                    "has_custom_certificate": False, "pending_update_count": 0,
                    "max_connections": 40, "ip_address": "127.0.0.1",
                    "allowed_updates": ["message", "callback_query"]}
    assert bot.post("/deleteWebhook").json()["description"] == "Webhook was deleted"
    assert bot.get("/getWebhookInfo").json()["result"]["url"] == ""
    assert bot.post("/deleteWebhook").json()["description"] == "Webhook is already deleted"


def test_telegram_set_webhook_form_body_and_bad_secret(fake_telegram, bot):  # noqa: F811
    ok = bot.post("/setWebhook", data={"url": "https://a.example/h", "secret_token": "abc"})
    assert ok.json()["ok"] is True
    assert fake_telegram.bot().secret_token == "abc"
    bad = bot.post("/setWebhook", json={"url": "https://a.example/h", "secret_token": "no way!"})
    assert bad.status_code == 400
    assert bad.json() == {"ok": False, "error_code": 400,
                          "description": "Bad Request: secret token contains unallowed characters"}


def test_telegram_send_message_ids_increase_per_chat(fake_telegram, bot):  # noqa: F811
    ids = [bot.post("/sendMessage", json={"chat_id": chat, "text": "hi"}).json()
           ["result"]["message_id"] for chat in (10, 10, 20, 10, 20)]
    assert ids == [1, 2, 1, 3, 2]
    result = bot.post("/sendMessage", json={
        "chat_id": 10, "text": "pick", "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]},
    }).json()["result"]
    assert result["chat"] == {"id": 10, "first_name": "User", "type": "private"}
    assert result["from"]["is_bot"] is True
    assert result["text"] == "pick"
    assert result["reply_markup"] == {"inline_keyboard": [[{"text": "Yes",
                                                            "callback_data": "y"}]]}
    sent = fake_telegram.messages_to(10)
    assert [m.message_id for m in sent] == [1, 2, 3, 4]
    assert sent[-1].params["parse_mode"] == "HTML"


def test_telegram_send_message_as_form_and_query(fake_telegram, bot):  # noqa: F811
    form = bot.post("/sendMessage", data={
        "chat_id": "-100", "text": "form",
        "reply_markup": json.dumps({"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}),
    }).json()["result"]
    assert form["chat"] == {"id": -100, "title": "Group", "type": "group"}
    assert form["reply_markup"]["inline_keyboard"][0][0]["text"] == "A"
    query = bot.get("/sendMessage", params={"chat_id": "@news", "text": "q"}).json()["result"]
    assert query["chat"]["type"] == "channel"
    assert [m.chat_id for m in fake_telegram.sent] == [-100, "@news"]


@pytest.mark.parametrize(("params", "status", "description"), [
    ({"chat_id": 1}, 400, "Bad Request: message text is empty"),
    ({"text": "x"}, 400, "Bad Request: chat_id is empty"),
    ({"chat_id": "not a chat", "text": "x"}, 400, "Bad Request: chat not found"),
    ({"chat_id": 1, "text": "x" * 4097}, 400, "Bad Request: message is too long"),
    ({"chat_id": 1, "text": "x", "reply_markup": "{"}, 400,
     "Bad Request: can't parse reply keyboard markup JSON object"),
])
def test_telegram_send_message_errors(bot, params, status, description):
    response = bot.post("/sendMessage", data=params)
    assert response.status_code == status
    assert response.json() == {"ok": False, "error_code": status, "description": description}


def test_telegram_blocked_and_missing_chats(fake_telegram, bot):  # noqa: F811
    fake_telegram.block(31)
    fake_telegram.forget(32)
    blocked = bot.post("/sendMessage", json={"chat_id": 31, "text": "x"})
    missing = bot.post("/sendMessage", json={"chat_id": 32, "text": "x"})
    assert (blocked.status_code, blocked.json()) == (403, {
        "ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    assert (missing.status_code, missing.json()["description"]) == (
        400, "Bad Request: chat not found")
    assert fake_telegram.sent == []


def test_telegram_send_photo_and_document_upload_and_by_url(fake_telegram, bot):  # noqa: F811
    photo = bot.post("/sendPhoto", data={"chat_id": "5", "caption": "look"},
                     files={"photo": ("p.jpg", b"\xff\xd8jpeg", "image/jpeg")}).json()["result"]
    assert photo["caption"] == "look"
    assert [p["width"] for p in photo["photo"]] == [90, 320, 800, 1280]
    doc = bot.post("/sendDocument", json={
        "chat_id": 5, "document": "https://files.example/report.pdf"}).json()["result"]
    assert doc["document"]["file_name"] == "report.pdf"
    upload = bot.post("/sendDocument", data={"chat_id": 5},
                      files={"document": ("a.csv", b"a,b\n1,2\n", "text/csv")}).json()["result"]
    assert upload["document"]["file_name"] == "a.csv"
    assert upload["document"]["mime_type"] == "text/csv"
    assert upload["document"]["file_size"] == 8
    assert [m.message_id for m in fake_telegram.messages_to(5)] == [1, 2, 3]
    assert fake_telegram.sent[0].params["photo"].content == b"\xff\xd8jpeg"
    missing = bot.post("/sendPhoto", json={"chat_id": 5})
    assert missing.json()["description"] == "Bad Request: there is no photo in the request"


def test_telegram_answer_callback_query(fake_telegram, bot):  # noqa: F811
    assert bot.post("/answerCallbackQuery", json={"callback_query_id": "77", "text": "Done"}
                    ).json() == {"ok": True, "result": True}
    assert fake_telegram.callback_answers[0]["text"] == "Done"
    assert bot.post("/answerCallbackQuery", json={}).status_code == 400


def test_telegram_updates_are_delivered_with_the_recorded_secret(fake_telegram, bot):  # noqa: F811
    # Given a product webhook (here a tiny fake standing in for Tend's endpoint)
    received: list[tuple[dict, str | None]] = []

    class Hook(FakeHTTPServer):
        def route(self, request):
            request.op = "hook"

        def handle(self, request):
            received.append((request.data, request.headers.get("x-telegram-bot-api-secret-token")))
            return Response.json(200, {})

    with Hook() as hook:
        bot.post("/setWebhook", json={"url": f"{hook.url}/telegram", "secret_token": "tok"})
        # When the user presses Start with a link code
        update = fake_telegram.start_update("LINK42", chat_id=555, first_name="Amal",
                                            username="amal")
        response = fake_telegram.deliver_update(update)
        # And a second message without the secret
        plain = fake_telegram.make_update("hello", chat_id=555)
        fake_telegram.deliver_update(plain, secret=None)
    assert response.status_code == 200
    data, secret = received[0]
    assert secret == "tok"
    message = data["message"]
    assert message["text"] == "/start LINK42"
    assert message["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]
    assert message["from"] == {"id": 555, "is_bot": False, "first_name": "Amal",
                               "username": "amal", "language_code": "en"}
    assert message["chat"] == {"id": 555, "first_name": "Amal", "username": "amal",
                               "type": "private"}
    assert received[1][1] is None
    assert received[1][0]["update_id"] == data["update_id"] + 1
    assert received[1][0]["message"]["message_id"] == message["message_id"] + 1
    # The bot's next reply continues the chat's message ids and names the user
    reply = bot.post("/sendMessage", json={"chat_id": 555, "text": "Linked"}).json()["result"]
    assert reply["message_id"] == message["message_id"] + 2
    assert reply["chat"]["first_name"] == "Amal"


def test_telegram_webhook_call_for_the_django_test_client(fake_telegram):  # noqa: F811
    call = fake_telegram.webhook_call(fake_telegram.callback_update("yes", chat_id=9),
                                      url="/hooks/telegram/x", secret="abc")
    assert call.url == "/hooks/telegram/x"
    assert call.headers == {"Content-Type": "application/json",
                            "X-Telegram-Bot-Api-Secret-Token": "abc"}
    assert call.json()["callback_query"]["data"] == "yes"
    with pytest.raises(ValueError, match="no webhook"):
        fake_telegram.webhook_call({"update_id": 1})


def test_telegram_several_bots(fake_telegram):  # noqa: F811
    other = fake_telegram.add_bot(username="second_bot")
    with httpx.Client(base_url=fake_telegram.url) as client:
        me = client.get(f"/bot{other}/getMe").json()["result"]
        client.post(f"/bot{other}/sendMessage", json={"chat_id": 1, "text": "a"})
        client.post(f"/bot{fake_telegram.token}/sendMessage", json={"chat_id": 1, "text": "b"})
    assert me["username"] == "second_bot"
    assert [m.message_id for m in fake_telegram.sent] == [1, 1]
    assert fake_telegram.messages_to(1, token=other)[0].text == "a"


# -- WhatsApp ------------------------------------------------------------------------------


@pytest.fixture
def wa(fake_whatsapp):  # noqa: F811
    with httpx.Client(base_url=f"{fake_whatsapp.url}/v21.0/{fake_whatsapp.phone_number_id}",
                      headers={"Authorization": f"Bearer {fake_whatsapp.access_token}"}) as c:
        yield c


def _text(to: str, body: str = "Hello") -> dict:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": "text", "text": {"body": body}}


def test_whatsapp_send_text(fake_whatsapp, wa):  # noqa: F811
    response = wa.post("/messages", json=_text("+971 50 123 4567"))
    assert response.status_code == 200
    payload = response.json()
    message_id = payload["messages"][0]["id"]
    assert payload == {"messaging_product": "whatsapp",
                       "contacts": [{"input": "+971 50 123 4567", "wa_id": "971501234567"}],
                       "messages": [{"id": message_id}]}
    assert message_id.startswith("wamid.")
    sent = fake_whatsapp.messages_to("971501234567")
    assert [(m.id, m.type, m.text) for m in sent] == [(message_id, "text", "Hello")]
    phone = fake_whatsapp.phone_number_id
    assert fake_whatsapp.rate_keys() == [f"phone:{phone}", f"to:{phone}:971501234567"]


def test_whatsapp_template_and_media(fake_whatsapp, wa):  # noqa: F811
    fake_whatsapp.add_template("order_update", "ar", body_params=2)
    template = {"messaging_product": "whatsapp", "to": "971501234567", "type": "template",
                "template": {"name": "order_update", "language": {"code": "ar"},
                             "components": [{"type": "body", "parameters": [
                                 {"type": "text", "text": "Amal"},
                                 {"type": "text", "text": "42"}]}]}}
    ok = wa.post("/messages", json=template)
    assert ok.status_code == 200
    assert ok.json()["messages"][0]["message_status"] == "accepted"
    template["template"]["components"][0]["parameters"].pop()
    wrong = wa.post("/messages", json=template)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, 132000)
    template["template"]["name"] = "nope"
    unknown = wa.post("/messages", json=template)
    assert unknown.json()["error"]["code"] == 132001
    image = wa.post("/messages", json={
        "messaging_product": "whatsapp", "to": "971501234567", "type": "image",
        "image": {"link": "https://cdn.example/p.jpg", "caption": "Poster"}})
    document = wa.post("/messages", json={
        "messaging_product": "whatsapp", "to": "971501234567", "type": "document",
        "document": {"link": "https://cdn.example/t.pdf", "filename": "ticket.pdf"}})
    assert (image.status_code, document.status_code) == (200, 200)
    assert [m.text for m in fake_whatsapp.sent] == ["order_update", "Poster", ""]
    no_link = wa.post("/messages", json={
        "messaging_product": "whatsapp", "to": "971501234567", "type": "image", "image": {}})
    assert no_link.json()["error"]["code"] == 100


def test_whatsapp_bad_token(fake_whatsapp):  # noqa: F811
    url = f"{fake_whatsapp.url}/v21.0/{fake_whatsapp.phone_number_id}/messages"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.post(url, json=_text("971501234567"), headers=headers)
        assert response.status_code == 401
        error = response.json()["error"]
        assert (error["type"], error["code"]) == ("OAuthException", 190)
        assert error["message"] == "Invalid OAuth access token - Cannot parse access token"
    assert fake_whatsapp.sent == []


def test_whatsapp_unknown_phone_number_id(fake_whatsapp):  # noqa: F811
    response = httpx.post(f"{fake_whatsapp.url}/v21.0/999/messages", json=_text("97150123"),
                          headers={"Authorization": f"Bearer {fake_whatsapp.access_token}"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100
    assert "Object with ID '999' does not exist" in response.json()["error"]["message"]


def test_whatsapp_outside_window_allows_templates_only(fake_whatsapp, wa):  # noqa: F811
    fake_whatsapp.close_window("+971501234567")
    text = wa.post("/messages", json=_text("971501234567"))
    assert text.status_code == 400
    error = text.json()["error"]
    assert (error["code"], error["type"], error["message"]) == (
        131047, "OAuthException", "(#131047) Re-engagement message")
    assert error["error_data"]["messaging_product"] == "whatsapp"
    template = wa.post("/messages", json={
        "messaging_product": "whatsapp", "to": "971501234567", "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}}})
    assert template.status_code == 200
    # The customer writing reopens the window
    fake_whatsapp.message_event("971501234567", "hi")
    assert wa.post("/messages", json=_text("971501234567")).status_code == 200


@pytest.mark.parametrize(("fault", "status", "code"), [
    ("undeliverable", 400, 131026),
    ("rate_limited", 429, 130429),
    ("server_error", 500, 131000),
])
def test_whatsapp_error_shapes(fake_whatsapp, wa, fault, status, code):  # noqa: F811
    if fault == "undeliverable":
        fake_whatsapp.mark_undeliverable("971501234567")
    else:
        fake_whatsapp.script(getattr(FakeWhatsApp, fault)())
    response = wa.post("/messages", json=_text("971501234567"))
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["type"]) == (code, "OAuthException")
    assert error["fbtrace_id"]
    assert fake_whatsapp.sent == []


@pytest.mark.parametrize("body", [
    {"to": "971501234567", "type": "text", "text": {"body": "x"}},
    {"messaging_product": "whatsapp", "to": "12", "type": "text", "text": {"body": "x"}},
    {"messaging_product": "whatsapp", "to": "971501234567", "type": "text", "text": {}},
    {"messaging_product": "whatsapp", "to": "971501234567", "type": "sticker", "sticker": {}},
    {"messaging_product": "whatsapp", "to": "971501234567", "type": "template",
     "template": {"name": "x"}},
])
def test_whatsapp_invalid_parameters(wa, body):
    response = wa.post("/messages", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100


def test_whatsapp_signed_webhooks(fake_whatsapp):  # noqa: F811
    received: list[tuple[bytes, dict]] = []

    class Hook(FakeHTTPServer):
        def handle(self, request):
            received.append((request.body, request.headers))
            return Response.json(200, {})

    with Hook() as hook:
        message = fake_whatsapp.message_event("+971501234567", "مرحبا", name="Amal")
        assert fake_whatsapp.deliver(f"{hook.url}/wa", message).status_code == 200
        fake_whatsapp.deliver(f"{hook.url}/wa", message, secret="wrong-secret")
        fake_whatsapp.deliver(f"{hook.url}/wa", message, signature=None)
    body, headers = received[0]
    import hashlib
    import hmac

    expected = hmac.new(fake_whatsapp.app_secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-hub-signature-256"] == f"sha256={expected}"
    assert received[1][1]["x-hub-signature-256"] != headers["x-hub-signature-256"]
    assert "x-hub-signature-256" not in received[2][1]
    value = json.loads(body)["entry"][0]["changes"][0]["value"]
    assert value["metadata"] == {"display_phone_number": "15550783881",
                                 "phone_number_id": fake_whatsapp.phone_number_id}
    assert value["contacts"] == [{"profile": {"name": "Amal"}, "wa_id": "971501234567"}]
    assert value["messages"][0]["text"] == {"body": "مرحبا"}
    assert value["messages"][0]["from"] == "971501234567"


def test_whatsapp_status_events(fake_whatsapp, wa):  # noqa: F811
    message_id = wa.post("/messages", json=_text("971501234567")).json()["messages"][0]["id"]
    for status in ("sent", "delivered", "read"):
        event = fake_whatsapp.status_event(message_id, status)
        entry = event["entry"][0]["changes"][0]["value"]["statuses"][0]
        assert (entry["id"], entry["status"], entry["recipient_id"]) == (
            message_id, status, "971501234567")
    failed = fake_whatsapp.status_event(message_id, "failed", error_code=131047)
    entry = failed["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert entry["errors"][0]["code"] == 131047
    assert entry["errors"][0]["title"] == "Re-engagement message"
    with pytest.raises(ValueError, match="unknown message"):
        fake_whatsapp.status_event("wamid.unknown", "read")


def test_whatsapp_verification_handshake(fake_whatsapp):  # noqa: F811
    seen: list[dict] = []

    class Hook(FakeHTTPServer):
        def handle(self, request):
            seen.append(request.query)
            ok = request.query.get("hub.verify_token") == fake_whatsapp.verify_token
            if ok:
                return Response(200, request.query["hub.challenge"].encode(), (), "text/plain")
            return Response.text(403, "no")

    with Hook() as hook:
        good = fake_whatsapp.verify(f"{hook.url}/wa")
        bad = fake_whatsapp.verify(f"{hook.url}/wa?x=1", verify_token="wrong", challenge="9")
    assert (good.status_code, good.text) == (200, "1158201444")
    assert bad.status_code == 403
    assert seen[0] == {"hub.mode": "subscribe", "hub.verify_token": fake_whatsapp.verify_token,
                       "hub.challenge": "1158201444"}
    assert seen[1]["x"] == "1"


# -- SMS (Twilio-compatible) ---------------------------------------------------------------


@pytest.fixture
def twilio(fake_sms):  # noqa: F811
    with httpx.Client(base_url=f"{fake_sms.url}/2010-04-01/Accounts/{fake_sms.account_sid}",
                      auth=(fake_sms.account_sid, fake_sms.auth_token)) as client:
        yield client


def test_sms_send(fake_sms, twilio):  # noqa: F811
    response = twilio.post("/Messages.json", data={
        "To": "+971501234567", "From": "+15005550006", "Body": "Your code is 1234",
        "StatusCallback": "https://crm.example/hooks/sms?x=1"})
    assert response.status_code == 201
    payload = response.json()
    sid = payload["sid"]
    assert sid.startswith("SM") and len(sid) == 34
    assert {k: payload[k] for k in ("account_sid", "to", "from", "body", "status",
                                     "direction", "num_segments", "error_code")} == {
        "account_sid": fake_sms.account_sid, "to": "+971501234567", "from": "+15005550006",
        "body": "Your code is 1234", "status": "queued", "direction": "outbound-api",
        "num_segments": "1", "error_code": None}
    assert payload["uri"] == f"/2010-04-01/Accounts/{fake_sms.account_sid}/Messages/{sid}.json"
    assert [(m.sid, m.to, m.body) for m in fake_sms.messages_to("+971501234567")] == [
        (sid, "+971501234567", "Your code is 1234")]
    assert fake_sms.max_rate(f"from:{fake_sms.account_sid}:+15005550006", 1) == 1


@pytest.mark.parametrize(("data", "code", "message"), [
    ({"To": "0501234567", "From": "+15005550006", "Body": "x"}, 21211,
     "Invalid 'To' Phone Number: 0501234567"),
    ({"To": "+971501234567", "Body": "x"}, 21603, "A 'From' phone number is required."),
    ({"To": "+971501234567", "From": "+15005550006"}, 21602, "Message body is required."),
])
def test_sms_validation_errors(twilio, data, code, message):
    response = twilio.post("/Messages.json", data=data)
    assert response.status_code == 400
    assert response.json() == {"code": code, "message": message,
                               "more_info": f"https://www.twilio.com/docs/errors/{code}",
                               "status": 400}


def test_sms_invalid_and_unsubscribed_numbers(fake_sms, twilio):  # noqa: F811
    fake_sms.mark_invalid("+15005550001")
    fake_sms.mark_unsubscribed("+15005550002")
    base = {"From": "+15005550006", "Body": "x"}
    invalid = twilio.post("/Messages.json", data={**base, "To": "+15005550001"})
    stopped = twilio.post("/Messages.json", data={**base, "To": "+15005550002"})
    assert invalid.json()["code"] == 21211
    assert stopped.json()["code"] == 21610
    assert fake_sms.sent == []


def test_sms_bad_credentials(fake_sms):  # noqa: F811
    url = f"{fake_sms.url}/2010-04-01/Accounts/{fake_sms.account_sid}/Messages.json"
    data = {"To": "+971501234567", "From": "+15005550006", "Body": "x"}
    for auth in (None, (fake_sms.account_sid, "wrong"), ("ACother", fake_sms.auth_token)):
        response = httpx.post(url, data=data, auth=auth)
        assert response.status_code == 401
        assert response.json()["code"] == 20003
    assert fake_sms.sent == []


def test_sms_rate_limit_with_retry_after(fake_sms, twilio):  # noqa: F811
    fake_sms.script(FakeSMS.rate_limited(retry_after=7), FakeSMS.server_error(503))
    data = {"To": "+971501234567", "From": "+15005550006", "Body": "x"}
    limited = twilio.post("/Messages.json", data=data)
    unavailable = twilio.post("/Messages.json", data=data)
    ok = twilio.post("/Messages.json", data=data)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "7")
    assert limited.json()["code"] == 20429
    assert (unavailable.status_code, ok.status_code) == (503, 201)
    assert len(fake_sms.sent) == 1
    assert fake_sms.count("messages") == 3


def test_sms_status_callback_is_signed_like_twilio(fake_sms, twilio):  # noqa: F811
    received: list = []

    class Hook(FakeHTTPServer):
        def handle(self, request):
            received.append(request)
            return Response(204)

    with Hook() as hook:
        callback = f"{hook.url}/hooks/sms?tenant=acme"
        sid = twilio.post("/Messages.json", data={
            "To": "+971501234567", "From": "+15005550006", "Body": "x",
            "StatusCallback": callback}).json()["sid"]
        assert fake_sms.send_status(sid, "delivered").status_code == 204
        fake_sms.send_status(sid, "undelivered", error_code=30003)
        fake_sms.send_status(sid, "failed", auth_token="not-the-token")
    first = received[0]
    assert first.query == {"tenant": "acme"}
    assert first.data == {"AccountSid": fake_sms.account_sid, "ApiVersion": "2010-04-01",
                          "MessageSid": sid, "MessageStatus": "delivered", "SmsSid": sid,
                          "SmsStatus": "delivered", "To": "+971501234567",
                          "From": "+15005550006"}
    assert first.headers["x-twilio-signature"] == twilio_signature(
        callback, first.data, fake_sms.auth_token)
    assert received[1].data["ErrorCode"] == "30003"
    assert received[2].headers["x-twilio-signature"] != twilio_signature(
        callback, received[2].data, fake_sms.auth_token)


def test_twilio_signature_matches_the_documented_example():
    # The example in Twilio's "Validating signatures from Twilio" documentation
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030",
              "Digits": "1234", "From": "+12349013030", "To": "+18005551212"}
    assert twilio_signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


# -- SMTP ----------------------------------------------------------------------------------


def test_smtp_send_with_smtplib(fake_smtp):  # noqa: F811
    import smtplib
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Tend <noreply@tend.example>"
    message["To"] = "amal@example.com"
    message["Subject"] = "Welcome"
    message["List-Unsubscribe"] = "<https://tend.example/u/abc>"
    message.set_content("Hello Amal")
    message.add_alternative("<p>Hello Amal</p>", subtype="html")
    fake_smtp.reject("gone@example.com")
    fake_smtp.reject("busy@example.com", code=451)
    with smtplib.SMTP(fake_smtp.host, fake_smtp.port, timeout=10) as client:
        refused = client.send_message(message, to_addrs=[
            "amal@example.com", "gone@example.com", "busy@example.com"])
        with pytest.raises(smtplib.SMTPRecipientsRefused) as bounced:
            client.send_message(message, to_addrs=["gone@example.com"])
    assert refused == {
        "gone@example.com": (550, b"5.1.1 <gone@example.com>: Recipient address rejected: "
                                  b"User unknown"),
        "busy@example.com": (451, b"4.3.0 <busy@example.com>: Temporary local problem, "
                                  b"try again later")}
    assert bounced.value.recipients["gone@example.com"][0] == 550
    [received] = fake_smtp.messages
    assert received.mail_from == "noreply@tend.example"
    assert received.rcpt_tos == ("amal@example.com",)
    assert received.subject == "Welcome"
    assert received.message["List-Unsubscribe"] == "<https://tend.example/u/abc>"
    assert received.text().strip() == "Hello Amal"
    assert received.html().strip() == "<p>Hello Amal</p>"
    assert fake_smtp.messages_to("AMAL@example.com") == [received]
    assert fake_smtp.max_rate("smtp", 60) == 1
    assert [address for address, _ in fake_smtp.refused] == [
        "gone@example.com", "busy@example.com", "gone@example.com"]


def test_smtp_scripted_data_reply_and_auth():
    import smtplib

    with FakeSMTP(auth=("mailer", "s3cret")) as fake:
        fake.script_data("451 4.3.0 Try again later")
        with smtplib.SMTP(fake.host, fake.port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPSenderRefused):
                client.sendmail("a@tend.example", ["b@example.com"], b"Subject: x\r\n\r\nx")
            client.login("mailer", "s3cret")
            with pytest.raises(smtplib.SMTPDataError) as deferred:
                client.sendmail("a@tend.example", ["b@example.com"], b"Subject: x\r\n\r\nx")
            client.sendmail("a@tend.example", ["b@example.com"], b"Subject: y\r\n\r\ny")
        assert deferred.value.smtp_code == 451
        assert [m.subject for m in fake.messages] == ["y"]
        with smtplib.SMTP(fake.host, fake.port, timeout=10) as client, \
                pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("mailer", "wrong")


# -- provider rate limits ------------------------------------------------------------------


def test_enforced_rate_limit_answers_429_per_key(fake_telegram):  # noqa: F811
    # Given Telegram's 1 message per second per chat
    fake_telegram.enforce_rate("chat:", 1, 60, retry_after=5)
    with httpx.Client(base_url=f"{fake_telegram.url}/bot{fake_telegram.token}") as client:
        first = client.post("/sendMessage", json={"chat_id": 1, "text": "a"})
        second = client.post("/sendMessage", json={"chat_id": 1, "text": "b"})
        other_chat = client.post("/sendMessage", json={"chat_id": 2, "text": "c"})
    assert (first.status_code, second.status_code, other_chat.status_code) == (200, 429, 200)
    assert second.json()["parameters"] == {"retry_after": 5}
    assert [m.text for m in fake_telegram.sent] == ["a", "c"]
    assert [r.fault for r in fake_telegram.requests()] == ["", "rate limit", ""]


def test_enforced_rate_limit_shapes_of_whatsapp_and_sms(fake_whatsapp, fake_sms):  # noqa: F811
    fake_whatsapp.enforce_rate("phone:", 1, 60)
    fake_sms.enforce_rate("account:", 1, 60, retry_after=2)
    wa_url = f"{fake_whatsapp.url}/v21.0/{fake_whatsapp.phone_number_id}/messages"
    wa_headers = {"Authorization": f"Bearer {fake_whatsapp.access_token}"}
    sms_url = f"{fake_sms.url}/2010-04-01/Accounts/{fake_sms.account_sid}/Messages.json"
    sms_auth = (fake_sms.account_sid, fake_sms.auth_token)
    sms_data = {"To": "+971501234567", "From": "+15005550006", "Body": "x"}
    with httpx.Client() as client:
        wa = [client.post(wa_url, json=_text("971501234567"), headers=wa_headers)
              for _ in range(2)]
        sms = [client.post(sms_url, data=sms_data, auth=sms_auth) for _ in range(2)]
    assert [r.status_code for r in wa] == [200, 429]
    assert wa[1].json()["error"]["code"] == 130429
    assert [r.status_code for r in sms] == [201, 429]
    assert sms[1].headers["retry-after"] == "2"


def test_a_fake_runs_in_its_own_process():
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-m", "tend.messaging.fakes", "telegram"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(child.stdout.readline())
        me = httpx.get(f"{info['url']}/bot{info['token']}/getMe").json()
        assert me["ok"] is True
        assert info["kind"] == "telegram"
    finally:
        child.stdin.close()
        assert child.wait(10) == 0


def test_an_outage_and_recovery_on_the_same_port(fake_telegram):  # noqa: F811
    url = f"{fake_telegram.url}/bot{fake_telegram.token}"
    with httpx.Client() as client:
        client.post(f"{url}/sendMessage", json={"chat_id": 1, "text": "before"})
        fake_telegram.stop()
        with pytest.raises(httpx.TransportError):
            client.post(f"{url}/sendMessage", json={"chat_id": 1, "text": "during"})
        fake_telegram.start()
        after = client.post(f"{url}/sendMessage", json={"chat_id": 1, "text": "after"})
    assert after.json()["result"]["message_id"] == 2
    assert [m.text for m in fake_telegram.sent] == ["before", "after"]
