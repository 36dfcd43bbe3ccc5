"""Requests per second through the fake provider servers (`tend.messaging.fakes`): the
yardstick the outbox benchmark compares itself with.

For each HTTP fake (Telegram, WhatsApp, SMS) three senders push the same send requests:

- **httpx, fake in this process**: a minimal asyncio sender (one `httpx.AsyncClient`, keep-alive,
  `--concurrency` tasks) against the fake running in a thread of the same process, the way
  tests use the fakes (the two share one interpreter lock);
- **httpx, fake in another process**: the same sender against the fake in a child process
  (sender and fake each get their own core);
- **httpx sync, own process**: `httpx.Client` sending one request after the other on one
  keep-alive connection, fake in a child process;
- **raw asyncio**: pre-built HTTP/1.1 requests written on keep-alive connections with asyncio
  streams, no client library, fake in another process: what the fake itself can serve.

SMTP: messages per second with `smtplib` on one connection, fake in this process.

    uv run python benchmarks/fake_servers.py [--requests 3000] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from tend.messaging.fakes import FakeSMS, FakeSMTP, FakeTelegram, FakeWhatsApp

FAKES: dict[str, Callable[..., Any]] = {
    "telegram": FakeTelegram, "whatsapp": FakeWhatsApp, "sms": FakeSMS}

Builder = Callable[[httpx.AsyncClient, int], httpx.Request]


def credentials(kind: str, fake: Any) -> dict[str, str]:
    if kind == "telegram":
        return {"token": fake.token}
    if kind == "whatsapp":
        return {"access_token": fake.access_token, "phone_number_id": fake.phone_number_id}
    return {"account_sid": fake.account_sid, "auth_token": fake.auth_token}


def request_builder(kind: str, creds: dict[str, str]) -> Builder:
    """How request number `n` to the fake of `kind` is built."""
    if kind == "telegram":
        path = f"/bot{creds['token']}/sendMessage"
        return lambda c, n: c.build_request("POST", path, json={
            "chat_id": n % 1000 + 1, "text": f"Message {n}"})
    if kind == "whatsapp":
        path = f"/v21.0/{creds['phone_number_id']}/messages"
        headers = {"Authorization": f"Bearer {creds['access_token']}"}
        return lambda c, n: c.build_request("POST", path, headers=headers, json={
            "messaging_product": "whatsapp", "to": f"9715{n % 10_000_000:08d}", "type": "text",
            "text": {"body": f"Message {n}"}})
    path = f"/2010-04-01/Accounts/{creds['account_sid']}/Messages.json"
    auth = httpx.BasicAuth(creds["account_sid"], creds["auth_token"])
    return lambda c, n: c.build_request("POST", path, headers={
        "Authorization": auth._auth_header}, data={
        "To": f"+9715{n % 10_000_000:08d}", "From": "+15005550006", "Body": f"Message {n}"})


async def httpx_sender(url: str, build: Builder, total: int, concurrency: int) -> float:
    """The minimal asyncio sender: requests/s for `total` requests."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        numbers = iter(range(total))

        async def worker() -> None:
            for n in numbers:
                response = await client.send(build(client, n))
                if response.status_code >= 300:
                    raise RuntimeError(f"{response.status_code} {response.text}")

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - begin)


def sync_sender(url: str, build: Builder, total: int) -> float:
    """httpx's synchronous client on one keep-alive connection."""
    helper = httpx.AsyncClient(base_url=url)
    requests = [build(helper, n) for n in range(total)]
    with httpx.Client(base_url=url, timeout=30) as client:
        begin = time.perf_counter()
        for request in requests:
            response = client.send(request)
            if response.status_code >= 300:
                raise RuntimeError(f"{response.status_code} {response.text}")
        return total / (time.perf_counter() - begin)


def raw_request(request: httpx.Request) -> bytes:
    head = [f"{request.method} {request.url.raw_path.decode()} HTTP/1.1"]
    head += [f"{k}: {v}" for k, v in request.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + request.read()


async def raw_sender(url: str, build: Builder, total: int, concurrency: int) -> float:
    """Pre-built requests on keep-alive connections, answers read by Content-Length."""
    parsed = httpx.URL(url)
    client = httpx.AsyncClient(base_url=url)
    payloads = [raw_request(build(client, n)) for n in range(total)]
    await client.aclose()
    numbers = iter(range(total))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
        for n in numbers:
            writer.write(payloads[n])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if status >= 300:
                raise RuntimeError(f"status {status}")
        writer.close()

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - begin)


def in_child(kind: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The fake of `kind` in a child process (`python -m tend.messaging.fakes`)."""
    child = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "tend.messaging.fakes", kind, "--no-record"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    return child, json.loads(child.stdout.readline())


def smtp_rate(total: int) -> float:
    message = (b"From: a@tend.example\r\nTo: b@example.com\r\nSubject: Hello\r\n\r\n"
               + b"Hello there\r\n" * 20)
    with FakeSMTP(record_requests=False) as fake, \
            smtplib.SMTP(fake.host, fake.port, timeout=30) as client:
        begin = time.perf_counter()
        for _ in range(total):
            client.sendmail("a@tend.example", ["b@example.com"], message)
        return total / (time.perf_counter() - begin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    total, concurrency = args.requests, args.concurrency
    print(f"{total:,} requests per run, {concurrency} concurrent, keep-alive")
    print(f"{'fake':<10} {'httpx, same process':>20} {'httpx, own process':>20} "
          f"{'httpx sync, own':>18} {'raw asyncio':>14}")
    for kind, factory in FAKES.items():
        with factory(record_requests=False) as fake:
            build = request_builder(kind, credentials(kind, fake))
            asyncio.run(httpx_sender(fake.url, build, min(total, 500), concurrency))  # warm-up
            same = asyncio.run(httpx_sender(fake.url, build, total, concurrency))
        child, info = in_child(kind)
        try:
            build = request_builder(kind, info)
            other = asyncio.run(httpx_sender(info["url"], build, total, concurrency))
            sync = sync_sender(info["url"], build, total)
            raw = asyncio.run(raw_sender(info["url"], build, total, concurrency))
        finally:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(10)
        print(f"{kind:<10} {same:>16,.0f} r/s {other:>16,.0f} r/s {sync:>14,.0f} r/s "
              f"{raw:>10,.0f} r/s")
    smtp_total = max(200, total // 10)
    print(f"{'smtp':<10} {smtp_rate(smtp_total):>14,.0f} msg/s (smtplib, one connection, "
          f"{smtp_total:,} messages)")


if __name__ == "__main__":
    main()
