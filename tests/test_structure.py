"""The library's shape: its packages import only those above them in the data flow, it never
imports Airflow (import-linter's contracts in pyproject.toml), and the contracts fail when broken."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter over the `harvest` package found in `root`, with the project's contracts."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contracts_hold():
    out = lint_imports(PROJECT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 3 kept, 0 broken" in out.stdout


@pytest.mark.parametrize(
    "module, line, contract",
    [
        ("harvest/config/settings.py", "import harvest.runs.run", "follow the data flow"),
        ("harvest/oai/page.py", "from harvest.records import rows", "follow the data flow"),
        ("harvest/store/storage.py", "import airflow.sdk", "never imports Airflow"),
        ("harvest/demo/vocab.py", "import harvest.crosswalk", "stands apart"),
    ],
)
def test_a_broken_contract_fails_the_check(tmp_path, module, line, contract):
    """The same check on a copy of the library with one forbidden import added."""
    shutil.copytree(PROJECT / "harvest", tmp_path / "harvest", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # the break under test\n")
    out = lint_imports(tmp_path)
    assert out.returncode != 0
    assert "BROKEN" in out.stdout and contract in out.stdout, out.stdout
