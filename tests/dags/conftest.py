"""A private Airflow home for the DAG tests; Airflow is imported only after it is set."""

from __future__ import annotations

import os
import secrets

import pytest

from tests.conftest import PROJECT


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(48),  # 96 chars: above HMAC-SHA512's minimum
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield home
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def airflow_db(airflow_home):
    from airflow.utils import db

    db.resetdb()
    return airflow_home
