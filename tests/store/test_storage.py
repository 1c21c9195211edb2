"""Storage: the one module that touches the data folder. Whole files are replaced atomically, a
listing is a sorted glob of relative names, and nothing outside it opens data files itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harvest.store.storage import Storage, as_storage

PROJECT = Path(__file__).parent.parent.parent


def test_json_and_text_are_written_whole_and_read_back(tmp_path):
    s = Storage(tmp_path / "data")
    s.write_json("state/a.json", {"x": [1, 2]})
    s.write_text("index/CURRENT", "snap\n")
    assert s.read_json("state/a.json") == {"x": [1, 2]} and s.read_text("index/CURRENT") == "snap\n"
    assert s.read_json("state/none.json", None) is None
    with pytest.raises(FileNotFoundError):
        s.read_json("state/none.json")
    assert not list((tmp_path / "data").rglob(".*.tmp"))  # no temporary file left behind


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    s = Storage(tmp_path)
    s.write_json("state/a.json", {"v": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("harvest.store.storage.os.replace", broken_replace)
    with pytest.raises(OSError):
        s.write_json("state/a.json", {"v": 2})
    assert s.read_json("state/a.json") == {"v": 1}


def test_glob_gives_sorted_relative_names_and_rename_delete_move_files(tmp_path):
    s = Storage(tmp_path)
    for name in ("records/region=b/x.parquet", "records/region=a/y.parquet", "records/region=a/.t.tmp"):
        s.write_bytes(name, b"1")
    assert s.glob("records/region=*/*.parquet") == ["records/region=a/y.parquet", "records/region=b/x.parquet"]
    s.rename("records/region=a/.t.tmp", "records/region=a/t.parquet")
    s.delete("records/region=b/x.parquet")
    s.delete("records/region=b/x.parquet")  # already gone: nothing happens
    assert s.glob("records/**/*.parquet") == ["records/region=a/t.parquet", "records/region=a/y.parquet"]
    assert s.dirs("records") == ["region=a", "region=b"] and s.dirs("nowhere") == []
    assert as_storage(tmp_path) == s and as_storage(s) is s


# what may touch files directly: the storage module, DuckDB's scratch folder of the index build, the
# demo network (a partner, not the pipeline), the YAML configs and the declared schemas
_ALLOWED = {
    "harvest/store/storage.py",
    "harvest/index/build.py",
    "harvest/index/cluster.py",
    "harvest/index/assemble.py",
}
_FILE_CALLS = {
    "open",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "unlink",
    "mkdir",
    "rmtree",
    "ParquetWriter",
    "read_table",
    "read_metadata",
    "ParquetFile",
    "write_table",
    "glob",
    "rglob",
}
_OS_CALLS = {"replace", "rename", "remove", "fsync", "makedirs"}  # as os.<name>


def test_only_the_storage_module_reads_and_writes_the_data_folder():
    offenders = []
    for path in sorted((PROJECT / "harvest").rglob("*.py")):
        rel = path.relative_to(PROJECT).as_posix()
        if rel in _ALLOWED or rel.startswith(("harvest/demo/", "harvest/config/")):  # configs are not data
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                receiver = _name(func.value) if isinstance(func, ast.Attribute) else ""
                if receiver in ("storage", "writer", "self.writer", "self._writer", "self.writer") or receiver.endswith(
                    ".storage"
                ):
                    continue  # the storage module's own methods, and writers it opened
                if name in _FILE_CALLS or (receiver == "os" and name in _OS_CALLS):
                    offenders.append(f"{rel}:{node.lineno} {name}()")
    assert not offenders, offenders


def _name(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Subscript):  # self.writers[region]: one of the writers
        return _name(node.value).removesuffix("s")
    return ""
