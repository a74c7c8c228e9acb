"""The operations endpoint every long-running part serves: ``/healthz`` and ``/metrics``.

A small stdlib HTTP server on its own thread; the part gives two callables: ``render``
(Prometheus text exposition 0.0.4) and ``health`` (status code and a JSON body).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Exposition:
    """Collects metrics in the Prometheus text format under one prefix."""

    def __init__(self, prefix: str):
        self.prefix, self.lines = prefix, []

    def metric(self, name: str, kind: str, help_: str,
               samples: list[tuple[str, float]]) -> None:
        full = f"{self.prefix}_{name}"
        self.lines.append(f"# HELP {full} {help_}")
        self.lines.append(f"# TYPE {full} {kind}")
        self.lines.extend(f"{full}{labels} {value:g}" for labels, value in samples)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


class OpsServer:
    def __init__(self, render: Callable[[], str], health: Callable[[], tuple[int, dict]],
                 host: str, port: int, name: str):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/metrics":
                    code, ctype, text = 200, "text/plain; version=0.0.4", render()
                elif self.path == "/healthz":
                    code, body = health()
                    ctype, text = "application/json", json.dumps(body)
                else:
                    code, ctype, text = 404, "text/plain", "try /metrics or /healthz\n"
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
