"""The DAG files import cleanly, make one DAG per source, and really harvest when run."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PROJECT

pytestmark = pytest.mark.airflow


def dagbag(monkeypatch, sources_dir):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("HARVEST_SOURCES", str(sources_dir))
    return DagBag(dag_folder=str(PROJECT / "dags"))


def test_dagbag_imports_one_dag_per_source_and_the_index_dag(airflow_home, monkeypatch):
    bag = dagbag(monkeypatch, PROJECT / "sources" / "demo")
    assert bag.import_errors == {}
    ids = {p.stem.replace("-", "_") for p in (PROJECT / "sources" / "demo").glob("*.yaml")}
    assert set(bag.dags) == {f"harvest_{i}" for i in ids} | {"gosc_consolidate_index"}
    eosc = bag.dags["harvest_eosc_zenodo"]
    assert {"region:europe", "format:oai_datacite"} <= set(eosc.tags)
    assert eosc.catchup is False and eosc.start_date.tzinfo is not None
    assert set(eosc.params.keys()) == {"full", "from", "until", "sets"}
    assert "Zenodo" in eosc.doc_md
    tasks = {t.task_id: t for t in eosc.tasks}
    assert set(tasks) == {"plan_windows", "harvest_window", "validate_run", "publish_records"}
    assert tasks["harvest_window"].upstream_task_ids == {"plan_windows"}  # mapped over the plan
    assert tasks["validate_run"].upstream_task_ids == {"plan_windows", "harvest_window"}
    assert tasks["validate_run"].trigger_rule == "all_done"  # reports failed windows too
    assert tasks["publish_records"].upstream_task_ids == {"validate_run"}
    assert [o.name for o in tasks["publish_records"].outlets] == ["gosc_records_eosc-zenodo"]
    for task in tasks.values():  # retries and timeout from its config's `task:`
        assert (task.retries, task.retry_delay.total_seconds(), task.execution_timeout.total_seconds()) == (
            3,
            600,
            6 * 3600,
        )
    assert {t.retries for t in bag.dags["harvest_ardc_rda"].tasks} == {2}  # the default
    from harvest.config.pools import pools
    from harvest.config.sources import load_sources

    declared = pools(load_sources(PROJECT / "sources" / "demo"))
    talking = [
        t
        for d in bag.dags.values()
        if d.dag_id.startswith("harvest_")
        for t in d.tasks
        if t.task_id != "publish_records"
    ]  # every task that sends the partner a request
    assert {t.pool for t in talking} <= set(declared)
    index = bag.dags["gosc_consolidate_index"]
    assert index.timetable.asset_condition is not None


def test_two_hundred_sources_make_two_hundred_dags(airflow_home, monkeypatch, tmp_path):
    regions = ["europe", "australia", "china", "africa", "latin-america", "malaysia"]
    for i in range(200):
        (tmp_path / f"partner-{i:03d}.yaml").write_text(
            f"id: partner-{i:03d}\nname: Partner {i}\nregion: {regions[i % 6]}\n"
            f"endpoint: https://partner{i}.example.org/oai\nmetadata_prefix: oai_dc\nschedule: '@daily'\n"
        )
    bag = dagbag(monkeypatch, tmp_path)
    assert bag.import_errors == {}
    assert len(bag.dags) == 201 and "harvest_partner_199" in bag.dags
    assert len(bag.dags["gosc_consolidate_index"].timetable.asset_condition.objects) == 200


def test_a_broken_config_does_not_hide_the_others(airflow_home, monkeypatch, tmp_path):
    for p in (PROJECT / "sources" / "demo").glob("*.yaml"):
        (tmp_path / p.name).write_text(p.read_text())
    (tmp_path / "broken.yaml").write_text("id: broken\nname: B\nregion: mars\n")
    bag = dagbag(monkeypatch, tmp_path)
    assert bag.import_errors == {}
    assert "harvest_eosc_zenodo" in bag.dags
    assert "mars" in bag.dags["gosc_invalid_sources"].doc_md


def fail_fast_copy(tmp_path, *source_ids: str):
    """Demo configs that a failing task does not retry (dag.test() would sit out the retry delay)."""
    folder = tmp_path / "sources"
    folder.mkdir()
    for sid in source_ids:
        text = (PROJECT / "sources" / "demo" / f"{sid}.yaml").read_text()
        assert "\ntask:" not in text
        (folder / f"{sid}.yaml").write_text(text + "task:\n  retries: 0\n")
    return folder


def asset_events(name: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).where(AssetModel.name == name)
        return [e.extra for e in session.scalars(query)]


def test_source_dag_harvests_its_windows_and_updates_its_asset(airflow_db, demo_network, monkeypatch, tmp_path):
    monkeypatch.setenv("GOSC_DEMO_URL", demo_network.base_url)
    monkeypatch.setenv("HARVEST_DATA", str(tmp_path / "data"))
    bag = dagbag(monkeypatch, fail_fast_copy(tmp_path, "mosp-malaysia"))
    run = bag.dags["harvest_mosp_malaysia"].test(run_conf={"full": True})
    assert run.state == "success"
    (report_file,) = (tmp_path / "data" / "runs" / "mosp-malaysia").glob("*.json")
    report = json.loads(report_file.read_text())
    assert report["status"] == "complete" and report["records"] > 0
    windows = [ti for ti in run.get_task_instances() if ti.task_id == "harvest_window"]
    assert len(windows) == len(report["windows"]) > 1  # one mapped task per window
    assert {ti.state for ti in windows} == {"success"}
    assert {ti.rendered_map_index for ti in windows} >= {"2020-01-01..2020-12-31"}  # labelled by window
    (extra,) = asset_events("gosc_records_mosp-malaysia")
    assert extra["run_id"] == report["run_id"] and extra["records"] == report["records"]
    run = bag.dags["gosc_consolidate_index"].test()
    assert run.state == "success"
    assert (tmp_path / "data" / "index" / "CURRENT").exists()
    (index_extra,) = asset_events("gosc_index")
    assert index_extra["works"] > 0


def test_credentials_come_from_an_airflow_connection(airflow_db, monkeypatch, tmp_path):
    """The source YAML names a Connection; the hook in plugins/ turns it into basic auth."""
    import sys

    from harvest.demo.partners import partner
    from harvest.demo.provider import Provider
    from tests.oai.scripted_server import ScriptedServer

    monkeypatch.syspath_prepend(str(PROJECT / "plugins"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_PARTNER_SECURE", json.dumps({"conn_type": "oai_pmh", "login": "harvester", "password": "s3cret"})
    )
    monkeypatch.setenv("HARVEST_DATA", str(tmp_path / "data"))
    provider = Provider(partner("mosp-malaysia"), "http://127.0.0.1/oai", page_size=1000)
    identify = (200, {}, provider.handle({"verb": ["Identify"]})[1])
    script = [
        identify,  # the plan's: the window reuses its answers
        (200, {}, provider.handle({"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"]})[1]),
    ]
    sources = tmp_path / "sources"
    sources.mkdir()
    with ScriptedServer(script) as srv:
        (sources / "secure-repo.yaml").write_text(
            f"id: secure-repo\nname: Secure\nregion: malaysia\nendpoint: {srv.url}\nmetadata_prefix: oai_dc\n"
            "window: none\ndeletion_census: never\nconnection_id: partner_secure\ntask:\n  retries: 0\n"
        )
        bag = dagbag(monkeypatch, sources)
        run = bag.dags["harvest_secure_repo"].test()
    assert run.state == "success"
    assert [h.get("Authorization") for h in srv.headers] == ["Basic aGFydmVzdGVyOnMzY3JldA=="] * 2
    assert run.get_task_instance("publish_records").xcom_pull(task_ids="validate_run")["records"] > 0
    assert "gosc_oai_hook" in sys.modules
