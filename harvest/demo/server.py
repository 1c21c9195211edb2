"""The demo partner network over HTTP: one threaded server on 127.0.0.1, one OAI-PMH base URL per
partner at http://127.0.0.1:PORT/<partner-id>/oai, GET and POST (spec 3.1.1).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from harvest.demo.faults import POST, PRE, Fault, FaultPlan, damage
from harvest.demo.partners import PARTNERS, Partner
from harvest.demo.provider import Provider


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

    def log_message(self, fmt, *args):  # quiet: the harvester reports what matters
        pass

    def _provider(self) -> Provider | None:
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) == 2 and parts[1] == "oai":
            return self.server.providers.get(parts[0])
        return None

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str = "text/xml; charset=utf-8",
        headers: dict | None = None,
        cut: int | None = None,
    ) -> None:
        """The answer; with `cut`, only its first `cut` bytes (Content-Length still says all of
        them), then the connection ends: a body cut short."""
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if cut is None:
            self.wfile.write(body)
            return
        self.wfile.write(body[:cut])
        self.wfile.flush()
        self.close_connection = True

    def _answer(self, query: str) -> None:
        provider = self._provider()
        if provider is None:
            if urlsplit(self.path).path in ("", "/"):
                listing = {
                    p.id: {
                        "name": p.name,
                        "region": p.region,
                        "formats": list(p.formats),
                        "endpoint": self.server.url_for(p.id),
                    }
                    for p in self.server.partners
                }
                return self._send(200, json.dumps(listing, indent=2).encode(), "application/json")
            return self._send(404, b"no such partner; GET / lists them\n", "text/plain")
        with self.server.lock:
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        args = parse_qs(query, keep_blank_values=True)
        with self.server.lock:
            self.server.verbs[(provider.partner.id, (args.get("verb") or [""])[0])] += 1
        try:
            answer = self._answer_with_faults(provider, args)
        finally:  # counted until the answer is ready, before it is sent: the client may ask again at once
            with self.server.lock:
                self.server.in_flight -= 1
        if answer is None:  # a connection reset
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return self.connection.close()
        self._send(*answer)

    def _answer_with_faults(self, provider: Provider, args: dict) -> tuple | None:
        """(status, body, content type, headers[, bytes to send before the connection ends]) for
        this request, or None to reset the connection."""
        plan = self.server.faults[provider.partner.id]
        verb = (args.get("verb") or [None])[0]
        token = (args.get("resumptionToken") or [None])[0]
        page = provider.page_of(token) if token else 0
        xml = "text/xml; charset=utf-8"
        for f in plan.take(verb, page, PRE):
            if f.kind == "status":
                headers = {"Retry-After": f.retry_after} if f.retry_after else {}
                return f.status, b"temporarily unavailable\n", "text/plain", headers
            if f.kind == "reset":
                return None
            if f.kind == "slow":
                time.sleep(f.seconds)
            if f.kind == "oai_error":
                return f.status, provider.error_page(f.code, "injected fault"), xml, {}
            if f.kind == "expire_token" and token:
                return 200, provider.error_page("badResumptionToken", "the token has expired"), xml, {}
            if f.kind == "hide_records":
                provider.hidden.update(f.ids)
        status, body = provider.handle(args)
        cut = None
        for f in plan.take(verb, page, POST):
            if f.kind == "cut":  # the connection ends half-way through the body
                cut = len(body) // 2
            body = damage(body, f, token, provider.rewind(token, 1) if token else None)
        return status, body, xml, {}, cut

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
        self.faults = {p.id: FaultPlan() for p in partners}
        self.lock = threading.Lock()
        self.in_flight = self.max_in_flight = 0
        self.verbs: Counter = Counter()  # (partner id, verb) → requests answered

    def handle_error(self, request, client_address):
        """A client that hung up (it timed out, or harvests were stopped) is not a server error."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

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

    def inject(self, partner_id: str, *faults: Fault) -> None:
        """Make a partner misbehave (see harvest.demo.faults)."""
        for f in faults:
            self._server.faults[partner_id].add(f)

    def reset(self) -> None:
        """Every partner behaves again, and vanished records come back."""
        for plan in self._server.faults.values():
            plan.clear()
        for provider in self._server.providers.values():
            provider.hidden.clear()
        self._server.max_in_flight = 0
        self._server.verbs.clear()

    def requests(self, partner_id: str, verb: str) -> int:
        """How many `verb` requests a partner has had since the last reset."""
        return self._server.verbs[(partner_id, verb)]

    @property
    def max_in_flight(self) -> int:
        """The most requests the network has answered at once since the last reset."""
        return self._server.max_in_flight

    def start(self) -> DemoNetwork:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="demo-oai", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> DemoNetwork:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
