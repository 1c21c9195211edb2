"""One Airflow DAG per partner source config (sources/**/*.yaml) and a consolidation DAG scheduled
on their Assets. Wiring only: every task calls the `harvest` library, which knows nothing of Airflow.

At import this file reads the small YAML configs and nothing else: no network, no data files, no
pandas/pyarrow/duckdb (those are imported inside tasks).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow.sdk import Asset, Param, XComArg, dag, task

from harvest.config.sources import Source, check_sources

PROJECT = Path(__file__).resolve().parent.parent
START = datetime(2026, 1, 1, tzinfo=UTC)
INDEX_ASSET = Asset(name="gosc_index", uri="file:///gosc/index")


def sources_folder() -> Path:
    return Path(os.environ.get("HARVEST_SOURCES") or PROJECT / "sources")


def data_folder() -> Path:
    return Path(os.environ.get("HARVEST_DATA") or PROJECT / "data")


def records_asset(source_id: str) -> Asset:
    """The Asset a source's harvest updates: its records table."""
    return Asset(name=f"gosc_records_{source_id}", uri=f"file:///gosc/records/{source_id}")


def host_pool(src: Source) -> dict:
    """The Airflow pool of a partner's host (see `harvest airflow-pools`)."""
    from harvest.config.pools import pool_for

    return pool_for(src)


def _doc(src: Source) -> str:
    contact = src.contact_info
    return (
        f"### {src.name}\n\nRegion **{src.region}**, format `{src.metadata_prefix}`"
        f"{', sets ' + ', '.join(src.sets) if src.sets else ''}.\n\n"
        f"- Endpoint: `{src.endpoint}`\n- Config: `{src.path}`\n"
        f"- Contact: {contact.get('name', '-')} {contact.get('email', '')}\n\n"
        "Trigger with **full** to ignore the watermark, or give **from**/**until** for a ranged re-harvest."
    )


def _credentials(src: Source):
    """The partner's credentials from the Airflow Connection its config names (plugins/ is on
    sys.path in every Airflow process), or None to let the library read credentials_env."""
    if not src.connection_id:
        return None
    from gosc_oai_hook import OAIPMHHook

    return OAIPMHHook(src.connection_id).get_credentials()


def make_source_dag(src: Source):
    """plan_windows → harvest_window (mapped, one task per set × date window, in the host's pool)
    → validate_run → publish_records (the source's records Asset, with the run's counts)."""
    asset = records_asset(src.id)
    pool = host_pool(src)["name"]

    @dag(
        dag_id=f"harvest_{src.id}".replace("-", "_"),
        schedule=src.schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["gosc", f"region:{src.region}", f"format:{src.metadata_prefix}"],
        doc_md=_doc(src),
        default_args={
            "retries": src.task.retries,
            "retry_delay": timedelta(minutes=src.task.retry_delay_minutes),
            "execution_timeout": timedelta(hours=src.task.timeout_hours),
        },
        params={
            "full": Param(False, type="boolean", title="Full re-harvest", description="Ignore the watermark"),
            "from": Param(None, type=["null", "string"], title="From (YYYY-MM-DD[Thh:mm:ssZ])"),
            "until": Param(None, type=["null", "string"], title="Until (YYYY-MM-DD[Thh:mm:ssZ])"),
            "sets": Param(
                list(src.sets) or None, type=["null", "array"], title="Sets (setSpecs; empty = as configured)"
            ),
        },
    )
    def source_dag():
        @task(pool=pool)
        def plan_windows(params=None, ti=None) -> list[dict]:
            """Identify, then cut the harvest into (set, window) units: the watermark, or the Params."""
            from airflow.configuration import conf

            from harvest.runs.planned import plan_run

            plan = plan_run(
                src,
                data_folder(),
                full=bool(params.get("full")),
                from_=params.get("from"),
                until=params.get("until"),
                sets=params.get("sets"),
                credentials=_credentials(src),
                max_windows=conf.getint("core", "max_map_length"),
            )
            ti.xcom_push(key="run_id", value=plan["run_id"])
            return [{"harvest_run": plan["run_id"], "index": w["index"], "label": w["label"]} for w in plan["windows"]]

        @task(pool=pool, map_index_template="{{ window_label }}")
        def harvest_window(window: dict) -> dict:
            """ListRecords pages of one window → crosswalk → Parquet chunks; a retry resumes from
            the window's checkpoint."""
            from airflow.sdk import get_current_context

            from harvest.runs.planned import harvest_window as harvest_one

            get_current_context()["window_label"] = window["label"]
            # mapped in this task's process: Airflow already runs windows and sources in processes
            # of their own, and a pool of workers per task would only contend for the same cores
            report = harvest_one(
                src,
                data_folder(),
                window["harvest_run"],
                window["index"],
                credentials=_credentials(src),
                parse_workers=0,
            )
            if report.status == "failed":
                raise RuntimeError(f"window {window['label']} of {src.id} failed: " + "; ".join(report.errors))
            return {k: getattr(report, k) for k in ("status", "pages", "records", "deleted", "quarantined")}

        @task(pool=pool, trigger_rule="all_done")
        def validate_run(harvest_run: str) -> dict:
            """Every window's report → the run's report and validation (fill rates, quarantine
            reasons); the watermark moves only when every window is complete."""
            from harvest.runs.planned import finish_run

            report = finish_run(src, data_folder(), harvest_run, credentials=_credentials(src))
            if report.status != "complete":
                raise RuntimeError(f"harvest of {src.id} ended {report.status}: " + "; ".join(report.errors))
            return {
                "run_id": report.run_id,
                "status": report.status,
                **{k: getattr(report, k) for k in ("records", "deleted", "quarantined", "pages", "retries")},
            }

        @task(outlets=[asset])
        def publish_records(summary: dict, outlet_events=None) -> dict:
            """Announce the source's new records: the Asset event the consolidation DAG waits for."""
            outlet_events[asset].extra = summary
            return summary

        plan = plan_windows()
        windows = harvest_window.expand(window=plan)
        summary = validate_run(XComArg(plan.operator, key="run_id"))
        windows >> summary
        publish_records(summary)

    return source_dag()


def make_index_dag(assets: list[Asset]):
    schedule = None
    for a in assets:
        schedule = a if schedule is None else schedule | a

    @dag(
        dag_id="gosc_consolidate_index",
        schedule=schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["gosc", "index"],
        doc_md="Consolidates every source's records into the cross-regional index and publishes a "
        "new snapshot atomically. Runs whenever a source's records Asset is updated.",
    )
    def consolidate():
        @task(outlets=[INDEX_ASSET])
        def build_index(outlet_events=None) -> dict:
            from harvest.publish.snapshots import build_and_publish

            priorities = {s.id: s.priority for s in check_sources(sources_folder())[0]}
            manifest = build_and_publish(data_folder(), priorities=priorities)
            summary = {k: manifest[k] for k in ("snapshot_id", "works", "cross_region_works")}
            outlet_events[INDEX_ASSET].extra = summary
            return summary

        build_index()

    return consolidate()


def make_config_errors_dag(problems: list) -> object:
    """One partner's broken config must not take every other partner's DAG down with an import
    error, yet operators must see it: this DAG lists the problems and fails when run."""
    text = "\n".join(f"- {p}" for p in problems)

    @dag(
        dag_id="gosc_invalid_sources",
        schedule=None,
        start_date=START,
        catchup=False,
        tags=["gosc", "config-error"],
        doc_md=f"### Invalid source configs\n\n{text}",
    )
    def invalid_sources():
        @task
        def report_invalid_configs():
            raise ValueError("invalid source config(s):\n" + text)

        report_invalid_configs()

    return invalid_sources()


_sources, _problems = check_sources(sources_folder())
for _src in _sources:
    globals()[f"harvest_{_src.id}".replace("-", "_")] = make_source_dag(_src)
gosc_consolidate_index = make_index_dag([records_asset(s.id) for s in _sources])
if _problems:
    gosc_invalid_sources = make_config_errors_dag(_problems)
