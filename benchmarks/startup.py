"""Startup time of `tend serve`: from process start to the first 200 on /login/.

Measures a first run (fresh data directory: migrations, demo organization) and a warm run
(existing data directory), and as the same-run baseline a minimal WSGI "hello" app served by
the same server (waitress) from a fresh Python process. Prints seconds and ratios.

    uv run python benchmarks/startup.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HELLO = """
import waitress
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
waitress.serve(app, host="127.0.0.1", port={port}, _quiet=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_until_ok(cmd: list[str], url: str, env: dict[str, str], timeout: float = 120) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - start < timeout:
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310
                    if resp.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"{cmd} did not answer within {timeout}s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    python = sys.executable
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    first, warm, hello = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as data:
            env = {**base_env, "TEND_DATA_DIR": data}
            port = free_port()
            cmd = [python, "-m", "tend.cli", "serve", "--port", str(port)]
            first.append(time_until_ok(cmd, f"http://127.0.0.1:{port}/login/", env))
            port = free_port()
            cmd = [python, "-m", "tend.cli", "serve", "--port", str(port)]
            warm.append(time_until_ok(cmd, f"http://127.0.0.1:{port}/login/", env))
        port = free_port()
        hello.append(time_until_ok([python, "-c", HELLO.format(port=port)],
                                   f"http://127.0.0.1:{port}/", base_env))
    best = min
    print(f"tend serve, first run (migrate + demo data): {best(first):.2f} s "
          f"(best of {args.repeat})")
    print(f"tend serve, warm start:                      {best(warm):.2f} s")
    print(f"baseline: waitress hello-world:              {best(hello):.2f} s")
    print(f"ratio warm / baseline:  {best(warm) / best(hello):.1f}x")
    print(f"ratio first / baseline: {best(first) / best(hello):.1f}x")


if __name__ == "__main__":
    main()
