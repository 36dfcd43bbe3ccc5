"""Email sends per second through Tend's email provider to a real SMTP server (the aiosmtpd
fake, in this process), against a same-run baseline.

- **tend, session reused**: `EmailProvider.send` as the outbox calls it, one thread; the
  thread's SMTP session serves every message (connect + EHLO + AUTH once);
- **tend, session per message**: the same, dropping the session after each send (what one
  `get_connection()` per message costs: connect, EHLO, AUTH and QUIT every time);
- **tend, 4 threads**: four sending threads, each with its own session (as the outbox's pool);
- **baseline smtplib**: `smtplib.SMTP.sendmail` of the same pre-built message bytes on one
  connection — no message building, what the server itself serves to one client.

    uv run python benchmarks/email_smtp.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def _django() -> None:
    os.environ["TEND_DATA_DIR"] = tempfile.mkdtemp(prefix="tend-bench-email-")
    os.environ.setdefault("TEND_SECRET_KEY", "benchmark-secret-key-not-for-production")
    os.environ["TEND_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    _django()
    import smtplib

    from tend.messaging.fakes import FakeSMTP
    from tend.messaging.models import ChannelAccount
    from tend.messaging.providers import OutgoingMessage, provider_for
    from tend.messaging.providers import email as email_provider

    n = args.messages
    provider = provider_for("EMAIL")
    with FakeSMTP(auth=("mailer", "s3cret"), record_requests=False) as smtp:
        account = ChannelAccount(kind="EMAIL", name="bench", settings={
            "from_email": "Acme Club <hello@acme.example>", "host": smtp.host,
            "port": str(smtp.port), "security": "none", "username": "mailer"})
        account.set_credentials({"password": "s3cret"})

        def outgoing(i: int) -> OutgoingMessage:
            return OutgoingMessage(message_id=f"m-{i}", to=f"person{i}@example.com",
                                   subject="Your booking", body=f"Court 2 at 18:00 ({i}).",
                                   purpose="TRANSACTIONAL")

        def timed(label: str, run) -> float:
            start = time.perf_counter()
            run()
            elapsed = time.perf_counter() - start
            rate = n / elapsed
            print(f"{label:<32} {n:>6} msgs in {elapsed:6.2f} s = {rate:8.0f} msg/s")
            return rate

        def reused() -> None:
            for i in range(n):
                provider.send(account, outgoing(i))
            email_provider.close_sessions()

        def per_message() -> None:
            for i in range(n):
                provider.send(account, outgoing(i))
                email_provider.close_sessions()

        def threaded() -> None:
            def chunk(start: int) -> None:
                for i in range(start, n, 4):
                    provider.send(account, outgoing(i))
                email_provider.close_sessions()

            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(chunk, range(4)))

        raw = provider.build(account, outgoing(0)).message().as_bytes()

        def baseline() -> None:
            client = smtplib.SMTP(smtp.host, smtp.port)
            client.login("mailer", "s3cret")
            for i in range(n):
                client.sendmail("hello@acme.example", [f"person{i}@example.com"], raw)
            client.quit()

        base = timed("baseline smtplib, one session", baseline)
        ours = timed("tend, session reused", reused)
        naive = timed("tend, session per message", per_message)
        pool = timed("tend, 4 threads", threaded)
        accepted = smtp.count("DATA")
    print(f"\nreused / baseline = {ours / base:.2f}; reused / per message = {ours / naive:.2f}; "
          f"4 threads / baseline = {pool / base:.2f}; server accepted {accepted} messages")


if __name__ == "__main__":
    main()
