"""`tend serve` really starts: a fresh data directory, the printed login works, static files are
served with DEBUG off, and Ctrl-C stops it cleanly; a second start prints the same login."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

LOGIN_LINE = re.compile(r"Sign in at (\S+) as (\S+) with password: (\S+)")
READY_LINE = re.compile(r"^Press Ctrl-C to stop\.$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`tend serve` in a subprocess, its output collected line by line."""

    def __init__(self, data_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEND_", "DJANGO_"))}
        env.update(TEND_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tend.cli", "serve", "--port", str(port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if match := pattern.search(line):
                return match
        raise AssertionError("no match for {!r} in output:\n{}".format(
            pattern.pattern, "\n".join(self.lines)))

    def interrupt(self, timeout: float) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=timeout)
        elapsed = time.monotonic() - started
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return code, elapsed

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_serve_starts_serves_and_stops_on_ctrl_c(tmp_path):
    port = _free_port()
    served = Served(tmp_path, port)
    try:
        url, email, password = served.wait_for(LOGIN_LINE, timeout=120).groups()
        served.wait_for(READY_LINE, timeout=10)
        assert url == f"http://127.0.0.1:{port}/login/"
        assert email == "owner@demo.tend.local"
        assert (tmp_path / "demo-login.txt").read_text() == f"{email}\n{password}\n"

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            login_page = client.get("/login/")
            css = client.get("/static/web/tend.css")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)
            assert token is not None
            signed_in = client.post("/login/", data={
                "csrfmiddlewaretoken": token.group(1), "username": email, "password": password,
            }, headers={"Referer": url})
            jobs = client.get("/o/demo/settings/jobs/")
        assert login_page.status_code == 200
        assert (css.status_code, css.headers["content-type"].split(";")[0]) == (200, "text/css")
        assert signed_in.status_code == 302
        assert (jobs.status_code, "Sample work (demo)" in jobs.text) == (200, True)

        code, elapsed = served.interrupt(timeout=15)
    finally:
        served.kill()
    assert code == 0, "\n".join(served.lines)
    assert elapsed < 5
    assert served.lines[-1] == "Stopped."
    assert any(line.startswith("First run: created the demo organization") for line in
               served.lines)

    again = Served(tmp_path, port)
    try:
        assert again.wait_for(LOGIN_LINE, timeout=60).groups() == (url, email, password)
        again.wait_for(READY_LINE, timeout=10)
        code, _ = again.interrupt(timeout=15)
    finally:
        again.kill()
    assert code == 0
    assert not any(line.startswith("First run") for line in again.lines)
