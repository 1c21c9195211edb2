"""A misbehaving OAI-PMH endpoint on 127.0.0.1 that plays a script of responses, one per request."""

from __future__ import annotations

import socket
import struct

from tests.servers import LoopbackServer, QuietHandler


class _Handler(QuietHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        self.server.headers.append(dict(self.headers))
        step = self.server.script.pop(0) if self.server.script else (500, {}, b"script exhausted")
        if step == "reset":  # RST instead of an answer
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if isinstance(step, tuple) and step[0] == "cut":  # ("cut", body, n): the first n bytes, then the end
            _, body, n = step
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:n])
            self.wfile.flush()
            self.close_connection = True
            return
        if isinstance(step, tuple) and step[0] == "gzip-garbage":  # says gzip, is not
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(step[1])))
            self.end_headers()
            self.wfile.write(step[1])
            return
        status, headers, body = step
        self.send_response(status)
        for k, v in {"Content-Type": "text/xml", **headers}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ScriptedServer(LoopbackServer):
    def __init__(self, script):
        super().__init__(_Handler, "/oai")
        self.httpd.script = list(script)
        self.httpd.requests = []
        self.httpd.headers = []

    @property
    def requests(self):
        return self.httpd.requests

    @property
    def headers(self) -> list[dict]:
        """The HTTP headers of every request, in order."""
        return self.httpd.headers
