"""What a partner's endpoint needs to let us in. Never from the source YAML: from an Airflow
Connection (plugins/gosc_oai_hook.py) or from environment variables the config names."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from harvest.errors import ConfigError


@dataclass(frozen=True)
class Credentials:
    """HTTP basic auth and/or extra headers (a bearer token)."""

    basic: tuple[str, str] | None = None
    headers: dict = field(default_factory=dict)

    def __repr__(self) -> str:  # never print a secret into a log
        return f"Credentials(basic={'***' if self.basic else None}, headers={sorted(self.headers)})"


def env_credentials(prefix: str, config_path: str = "") -> Credentials:
    """Credentials from <prefix>_USER/_PASSWORD (basic auth) or _TOKEN (a bearer token); a prefix
    naming no variable at all is a config error, not an anonymous harvest."""
    user, password, token = (os.environ.get(f"{prefix}_{k}") for k in ("USER", "PASSWORD", "TOKEN"))
    if not (user or token):
        raise ConfigError(config_path, "credentials_env", f"neither {prefix}_USER nor {prefix}_TOKEN is set")
    return Credentials(
        basic=(user, password or "") if user else None, headers={"Authorization": f"Bearer {token}"} if token else {}
    )
