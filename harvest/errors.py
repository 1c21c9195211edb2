"""One error hierarchy for the whole library: every failure a user can meet derives from HarvestError.

Messages name the source, the URL or file, and the bad value, so an operator can act on them
without reading a traceback.
"""

from __future__ import annotations


class HarvestError(Exception):
    """Base of every error gosc-harvest raises on purpose."""


class ConfigError(HarvestError):
    """A source config (or the sources folder) is invalid."""

    def __init__(self, path: str, field: str | None, message: str):
        self.path, self.field = path, field
        where = f"{path}: field '{field}'" if field else str(path)
        super().__init__(f"{where}: {message}")


class IndexBuildError(HarvestError):
    """The consolidated index cannot be built, published or read."""


class OAIError(HarvestError):
    """The data provider answered with an OAI-PMH <error> (spec section 3.6), whatever the HTTP status."""

    def __init__(self, code: str, message: str, url: str, source_id: str = ""):
        self.code, self.url, self.source_id = code, url, source_id
        prefix = f"[{source_id}] " if source_id else ""
        super().__init__(f"{prefix}OAI-PMH error {code} at {url}: {message}")


class TransportError(HarvestError):
    """The endpoint could not be reached or kept failing after every retry."""


class PageError(HarvestError):
    """A page could not be read as OAI-PMH XML (malformed, undecodable, hostile or not OAI-PMH)."""

    def __init__(self, reason: str, url: str, source_id: str = "", detail: str = ""):
        self.reason, self.url, self.source_id, self.detail = reason, url, source_id, detail
        self.content: bytes | None = None  # the body as received, kept for the quarantine
        prefix = f"[{source_id}] " if source_id else ""
        super().__init__(f"{prefix}unreadable page {url}: {reason}" + (f" ({detail})" if detail else ""))


class ProtocolError(HarvestError):
    """The provider broke the protocol in a way that stops the list (e.g. a repeated resumptionToken)."""
