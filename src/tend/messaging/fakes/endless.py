"""A server on 127.0.0.1 whose answer does not end: 200, then a chunked body streamed until
the client stops reading (or `limit` bytes went out). Tests use it to prove that a client
reads only as much of an answer as it keeps."""

from __future__ import annotations

import socket
import threading
from typing import Self

CHUNK = b"x" * 8192


class EndlessAnswer:
    def __init__(self, *, limit: int = 256 * 1024 * 1024) -> None:
        self.limit = limit
        self.sent = 0  # body bytes handed to the socket, over all connections
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._serve, name="endless-answer", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._sock.getsockname()
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _address = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(5)
                    conn.recv(65536)  # the request: small in these tests
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n")
                    while not self._stop.is_set() and self.sent < self.limit:
                        conn.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                        self.sent += len(CHUNK)
                    conn.sendall(b"0\r\n\r\n")
                except OSError:
                    continue  # the client hung up: what it should do
