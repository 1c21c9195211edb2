"""The operator's path end to end: `scripts/airflow-stack.sh` (what `make airflow` runs) starts a
real Airflow 3 stack on 127.0.0.1; a source DAG is triggered through the REST API and runs on the
LocalExecutor; its Asset event starts the consolidation DAG; headless Chromium logs in through the
UI's login form and captures the dashboard (kept as a test artefact), and an anonymous browser is
refused.

Needs Debian's chromium and chromium-driver (`apt-get install chromium chromium-driver`); without
them the test is skipped, unless GOSC_REQUIRE_BROWSER=1 (CI sets it) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.airflow

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("GOSC_TEST_ARTIFACTS") or PROJECT / "test-artifacts")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, root: Path):
        self.home, self.data = root / "airflow", root / "data"
        self.port, self.demo_port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__", "HARVEST_"))}
        self.env = {
            **clean,
            "GOSC_AIRFLOW_HOME": str(self.home),
            "AIRFLOW_PORT": str(self.port),
            "DEMO_PORT": str(self.demo_port),
            "HARVEST_DATA": str(self.data),
            "HARVEST_SOURCES": str(PROJECT / "sources" / "demo"),
        }

    def script(self, action: str) -> str:
        out = subprocess.run(
            ["bash", str(PROJECT / "scripts" / "airflow-stack.sh"), action],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    @property
    def password(self) -> str:
        return json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]

    def api(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        req = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body else None,
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def token(self) -> str:
        return self.api("POST", "/auth/token", {"username": "admin", "password": self.password})["access_token"]

    def wait_for_dag(self, dag_id: str, token: str, timeout: float = 180) -> None:
        """The dag-processor parses the DAG files after the API server is up: wait for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.api("GET", f"/api/v2/dags/{dag_id}", token=token)
                return
            except urllib.error.HTTPError as exc:
                exc.close()
                if exc.code != 404:
                    raise
            time.sleep(2)
        raise AssertionError(f"{dag_id} was not parsed in {timeout} s (logs: {self.home / 'logs'})")

    def wait_for_runs(self, dag_id: str, token: str, timeout: float = 240) -> list[dict]:
        """Every run of a DAG once none is queued or running (unpausing a scheduled DAG also
        starts its latest interval's run), latest first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after", token=token)["dag_runs"]
            if runs and all(r["state"] in ("success", "failed") for r in runs):
                return runs
            time.sleep(2)
        raise AssertionError(f"{dag_id} did not finish in {timeout} s (logs: {self.home / 'logs'})")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not (CHROMIUM and DRIVER):
        if os.environ.get("GOSC_REQUIRE_BROWSER"):
            pytest.fail("GOSC_REQUIRE_BROWSER is set but chromium / chromedriver are not installed")
        pytest.skip("Debian chromium + chromium-driver not installed (apt-get install chromium chromium-driver)")
    s = Stack(tmp_path_factory.mktemp("stack"))
    try:
        s.script("start")
        yield s
    finally:
        s.script("stop")


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1500,900",
    ):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def login(driver, stack: Stack) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(stack.url + "/")
    wait = WebDriverWait(driver, 60)
    wait.until(lambda d: d.find_elements(By.NAME, "username"))
    driver.find_element(By.NAME, "username").send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(stack.password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: "/auth/login" not in d.current_url)


def test_an_operator_runs_a_harvest_and_reads_the_dashboard(stack):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    token = stack.token()
    for dag_id in ("harvest_mosp_malaysia", "gosc_consolidate_index"):
        stack.wait_for_dag(dag_id, token)
        stack.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False}, token)
    stack.api(
        "POST", "/api/v2/dags/harvest_mosp_malaysia/dagRuns", {"logical_date": None, "conf": {"full": True}}, token
    )
    harvests = stack.wait_for_runs("harvest_mosp_malaysia", token)
    assert "manual" in {r["run_type"] for r in harvests} and {r["state"] for r in harvests} == {"success"}
    time.sleep(5)  # the scheduler turns the last Asset event into a consolidation run
    builds = stack.wait_for_runs("gosc_consolidate_index", token)  # started by the records Asset
    assert {r["run_type"] for r in builds} == {"asset_triggered"} and {r["state"] for r in builds} == {"success"}

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver = browser()
    try:
        login(driver, stack)
        driver.get(stack.url + "/gosc/")
        rows = {
            tr.find_elements(By.TAG_NAME, "td")[0].text: [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in driver.find_elements(By.CSS_SELECTOR, "table:first-of-type tr")
            if tr.find_elements(By.TAG_NAME, "td")
        }
        demo = {p.stem for p in (PROJECT / "sources" / "demo").glob("*.yaml")}
        assert demo <= set(rows)
        malaysia = rows["mosp-malaysia"]
        assert "success" in malaysia and "complete" in malaysia  # Airflow run, harvest run
        assert "Snapshot" in driver.find_element(By.TAG_NAME, "body").text  # the index manifest
        driver.save_screenshot(str(ARTIFACTS / "dashboard.png"))
        driver.get(stack.url + "/plugin/gosc-harvest")  # as the UI's nav shows it
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.TAG_NAME, "iframe"))
        driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
        WebDriverWait(driver, 60).until(lambda d: "mosp-malaysia" in d.find_element(By.TAG_NAME, "body").text)
        driver.switch_to.default_content()
        driver.save_screenshot(str(ARTIFACTS / "dashboard-in-airflow-ui.png"))
    finally:
        driver.quit()
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


def test_an_anonymous_browser_is_refused(stack):
    from selenium.webdriver.common.by import By

    driver = browser()
    try:
        driver.get(stack.url + "/gosc/")
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "Not authenticated" in body and "mosp-malaysia" not in body
    finally:
        driver.quit()
    with pytest.raises(urllib.error.HTTPError) as refused:
        stack.api("GET", "/gosc/api/overview")
    refused.value.close()
    assert refused.value.code == 401
