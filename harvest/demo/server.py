"""The demo partner network over HTTP: one threaded server on 127.0.0.1, one OAI-PMH base URL per
partner at http://127.0.0.1:PORT/<partner-id>/oai, GET and POST (spec 3.1.1).
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from harvest.demo.partners import PARTNERS, Partner
from harvest.demo.provider import Provider


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

    def log_message(self, fmt, *args):  # quiet: the harvester reports what matters
        pass

    def _provider(self) -> Provider | None:
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) == 2 and parts[1] == "oai":
            return self.server.providers.get(parts[0])
        return None

    def _send(self, status: int, body: bytes, ctype: str = "text/xml; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _answer(self, query: str) -> None:
        provider = self._provider()
        if provider is None:
            if urlsplit(self.path).path in ("", "/"):
                listing = {p.id: {"name": p.name, "region": p.region, "formats": list(p.formats),
                                  "endpoint": self.server.url_for(p.id)} for p in self.server.partners}
                return self._send(200, json.dumps(listing, indent=2).encode(), "application/json")
            return self._send(404, b"no such partner; GET / lists them\n", "text/plain")
        status, body = provider.handle(parse_qs(query, keep_blank_values=True))
        self._send(status, body)

    def do_GET(self):
        self._answer(urlsplit(self.path).query)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return self._send(415, b"POST requests must be application/x-www-form-urlencoded\n", "text/plain")
        self._answer(self.rfile.read(length).decode("utf-8", "replace"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, partners: tuple[Partner, ...]):
        super().__init__(addr, _Handler)
        self.partners = partners
        self.providers = {p.id: Provider(p, self.url_for(p.id)) for p in partners}

    def url_for(self, partner_id: str) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/{partner_id}/oai"


class DemoNetwork:
    """Start and stop the demo partners; always bound to 127.0.0.1.

    >>> with DemoNetwork() as net:
    ...     url = net.url_for("eosc-zenodo")
    """

    def __init__(self, port: int = 0, partners: tuple[Partner, ...] = PARTNERS):
        self._server = _Server(("127.0.0.1", port), partners)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url_for(self, partner_id: str) -> str:
        return self._server.url_for(partner_id)

    def start(self) -> "DemoNetwork":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="demo-oai", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "DemoNetwork":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
