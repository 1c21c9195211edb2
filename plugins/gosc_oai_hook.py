"""OAIPMHHook: an Airflow Connection → the credentials a partner's OAI-PMH endpoint needs.

Connection fields: login/password → HTTP basic auth; extra {"token": "..."} → a bearer token;
extra {"headers": {...}} → any other header. Secrets live in Airflow's Connections (or its secrets
backend), never in the sources/ YAML, which names only the connection id (`connection_id`).
"""

from __future__ import annotations

from airflow.sdk import BaseHook

from harvest.config.credentials import Credentials


class OAIPMHHook(BaseHook):
    conn_name_attr = "oai_conn_id"
    default_conn_name = "oai_pmh_default"
    conn_type = "oai_pmh"
    hook_name = "OAI-PMH endpoint"

    def __init__(self, oai_conn_id: str = default_conn_name, **kwargs):
        super().__init__(**kwargs)
        self.oai_conn_id = oai_conn_id

    def get_credentials(self) -> Credentials:
        conn = self.get_connection(self.oai_conn_id)
        extra = conn.extra_dejson or {}
        headers = {str(k): str(v) for k, v in (extra.get("headers") or {}).items()}
        if extra.get("token"):
            headers["Authorization"] = f"Bearer {extra['token']}"
        basic = (conn.login, conn.password or "") if conn.login else None
        return Credentials(basic=basic, headers=headers)
