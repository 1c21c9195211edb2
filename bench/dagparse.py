"""How long the DAG file takes to parse with 200 source configs (the dag-processor's view)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PARSE = """
import json, sys, time
import airflow
from airflow.dag_processing.dagbag import DagBag
t0 = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t0, "dags": len(bag.dags), "errors": len(bag.import_errors)}))
"""

REGIONS = ["europe", "australia", "china", "africa", "latin-america", "malaysia"]


def run(n: int = 200) -> dict:
    project = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        sources = Path(tmp) / "sources"
        sources.mkdir()
        for i in range(n):
            (sources / f"partner-{i:03d}.yaml").write_text(
                f"id: partner-{i:03d}\nname: Partner {i}\nregion: {REGIONS[i % 6]}\n"
                f"endpoint: https://partner{i}.example.org/oai\nmetadata_prefix: oai_dc\nschedule: '@daily'\n"
            )
        env = {
            **os.environ,
            "HARVEST_SOURCES": str(sources),
            "AIRFLOW_HOME": str(Path(tmp) / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        out = subprocess.run(
            [sys.executable, "-c", PARSE, str(project / "dags")], env=env, check=True, capture_output=True, text=True
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
    result["sources"] = n
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
