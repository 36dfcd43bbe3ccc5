"""Run one fake provider server on its own:

    uv run python -m tend.messaging.fakes telegram [--port 8081] [--no-record]

Prints one JSON line (`url` and the credentials to configure) and serves until stdin closes
or Ctrl-C, so a benchmark or a manual session can run it in another process. Meanwhile a line
`timestamps <rate key>` on stdin is answered with one JSON line: the receive times
(`time.monotonic()`) of the requests counted under that key, such as `bot:<token>`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any


def main(argv: list[str] | None = None) -> None:
    from . import FakeSMS, FakeSMTP, FakeTelegram, FakeWhatsApp

    kinds: dict[str, Any] = {"telegram": FakeTelegram, "whatsapp": FakeWhatsApp,
                             "sms": FakeSMS, "smtp": FakeSMTP}
    parser = argparse.ArgumentParser(prog="python -m tend.messaging.fakes",
                                     description="Run a fake provider server.")
    parser.add_argument("kind", choices=sorted(kinds))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-record", action="store_true",
                        help="keep only counts and timestamps (long benchmark runs)")
    args = parser.parse_args(argv)
    with kinds[args.kind](port=args.port, record_requests=not args.no_record) as fake:
        info: dict[str, Any] = {"kind": args.kind, "url": fake.url}
        for name in ("token", "access_token", "app_secret", "verify_token", "phone_number_id",
                     "account_sid", "auth_token", "host", "port"):
            if hasattr(fake, name):
                info[name] = getattr(fake, name)
        print(json.dumps(info), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            for line in sys.stdin:
                command = line.split()
                if len(command) == 2 and command[0] == "timestamps":
                    print(json.dumps(fake.timestamps(command[1])), flush=True)


if __name__ == "__main__":
    main()
