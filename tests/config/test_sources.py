"""Source configs: valid files load; every kind of mistake names the file, the field and the value."""

from __future__ import annotations

import textwrap

import pytest

from harvest.config.sources import check_sources, load_source, load_sources
from harvest.errors import ConfigError
from tests.conftest import PROJECT

GOOD = """\
id: {id}
name: Example repository
region: europe
endpoint: https://repo.example.org/oai
metadata_prefix: oai_dc
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_demo_sources_are_valid_and_cover_five_regions():
    sources = load_sources(PROJECT / "sources" / "demo")
    assert len(sources) >= 5
    assert len({s.region for s in sources}) >= 5
    assert {s.metadata_prefix for s in sources} >= {"oai_dc", "oai_datacite", "oai_openaire"}


def test_a_minimal_config_gets_defaults(tmp_path):
    src = load_source(write(tmp_path, "repo-a.yaml", GOOD.format(id="repo-a")))
    assert (src.id, src.region, src.sets, src.schedule) == ("repo-a", "europe", (), None)
    assert src.politeness.max_retries == 5 and src.politeness.max_page_mb == 256
    assert src.crosswalk_name == "oai_dc"
    bigger = load_source(
        write(
            tmp_path,
            "repo-z.yaml",
            GOOD.format(id="repo-z").replace("name: Example repository", "name: x\npoliteness: {max_page_mb: 1024}"),
        )
    )
    assert bigger.politeness.max_page_mb == 1024


@pytest.mark.parametrize(
    "change, field, words",
    [
        (("region: europe", "region: mars"), "region", "'mars' is not one of"),
        (("endpoint: https://repo.example.org/oai", "endpoint: ftp://repo"), "endpoint", "'ftp://repo'"),
        (("metadata_prefix: oai_dc\n", ""), "metadata_prefix", "required"),
        (("name: Example repository", "name: Example\nschedul: '@daily'"), "schedul", "not a known key"),
        (("name: Example repository", "name: x\npoliteness: {delay_seconds: -1}"), "politeness.delay_seconds", "-1"),
        (("name: Example repository", "name: x\nsets: ['has space']"), "sets.0", "'has space'"),
        (("name: Example repository", "name: x\npoliteness: {max_page_mb: 0}"), "politeness.max_page_mb", "0"),
    ],
)
def test_errors_name_file_field_and_value(tmp_path, change, field, words):
    path = write(tmp_path, "repo-b.yaml", GOOD.format(id="repo-b").replace(*change))
    with pytest.raises(ConfigError) as exc:
        load_source(path)
    message = str(exc.value)
    assert str(path) in message and f"field '{field}'" in message and words in message


def test_broken_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "repo-c.yaml", "id: repo-c\nname: [unclosed\n")
    with pytest.raises(ConfigError, match=r"repo-c.yaml: not valid YAML at line \d+"):
        load_source(path)


def test_id_must_match_file_name(tmp_path):
    with pytest.raises(ConfigError, match="field 'id'.*must match the file name 'other'"):
        load_source(write(tmp_path, "other.yaml", GOOD.format(id="repo-d")))


def test_duplicate_ids_across_folders_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a", "dup.yaml", GOOD.format(id="dup"))
    write(tmp_path / "b", "dup.yaml", GOOD.format(id="dup"))
    sources, problems = check_sources(tmp_path)
    assert len(sources) == 1 and len(problems) == 1
    assert "already used by" in str(problems[0])
    with pytest.raises(ConfigError):
        load_sources(tmp_path)


def test_endpoint_expands_environment_variables(tmp_path, monkeypatch):
    text = GOOD.format(id="repo-e").replace("https://repo.example.org/oai", "${REPO_E_URL:-http://127.0.0.1:9}/oai")
    src = load_source(write(tmp_path, "repo-e.yaml", text))
    assert src.resolved_endpoint() == "http://127.0.0.1:9/oai"
    monkeypatch.setenv("REPO_E_URL", "http://127.0.0.1:8000")
    assert src.resolved_endpoint() == "http://127.0.0.1:8000/oai"


def test_unset_variable_without_default_is_a_config_error(tmp_path):
    text = GOOD.format(id="repo-f").replace("https://repo.example.org/oai", "${NO_SUCH_VAR_X}/oai")
    src = load_source(write(tmp_path, "repo-f.yaml", text))
    with pytest.raises(ConfigError, match="NO_SUCH_VAR_X is not set"):
        src.resolved_endpoint()


def test_a_field_map_makes_a_new_format_harvestable_without_code(tmp_path):
    """A partner adds qualified Dublin Core with two files: its source config and a field map."""
    import shutil

    from harvest.crosswalk import get_crosswalk
    from harvest.demo.partners import partner
    from harvest.demo.provider import Provider
    from harvest.runs.run import run_source
    from harvest.store.datasets import read_committed
    from tests.conftest import DATA
    from tests.oai.scripted_server import ScriptedServer

    (tmp_path / "fieldmaps").mkdir()
    shutil.copy(DATA / "fieldmaps" / "dcterms.yaml", tmp_path / "fieldmaps" / "qdc.yaml")
    page = (DATA / "fieldmaps" / "qdc_getrecord.xml").read_bytes().replace(b"GetRecord>", b"ListRecords>")
    identify = Provider(partner("eosc-zenodo"), "http://127.0.0.1/oai").handle({"verb": ["Identify"]})[1]
    with ScriptedServer([(200, {}, identify), (200, {}, page)]) as srv:
        write(
            tmp_path,
            "epubs.yaml",
            GOOD.format(id="epubs")
            .replace("https://repo.example.org/oai", srv.url)
            .replace("metadata_prefix: oai_dc", "metadata_prefix: qdc\nfield_map: fieldmaps/qdc.yaml\nwindow: none"),
        )
        (src,) = load_sources(tmp_path)  # the map folder holds no source configs
        assert src.crosswalk_name == str((tmp_path / "fieldmaps" / "qdc.yaml").resolve())
        report = run_source(src, tmp_path / "data")
    assert report.status == "complete" and report.records == 1
    (row,) = read_committed(tmp_path / "data", "records", "epubs").to_pylist()
    assert row["title"] == "Neutron scattering study of layered perovskites"
    assert row["primary_pid"] == "doi:10.5072/epubs.12345"
    assert row["crosswalk_version"] == get_crosswalk(src.crosswalk_name).version
    assert row["crosswalk_version"].startswith("fieldmap:qdc.yaml:")


def test_a_broken_field_map_is_a_config_error_of_the_source(tmp_path):
    (tmp_path / "fieldmaps").mkdir()
    (tmp_path / "fieldmaps" / "bad.yaml").write_text("fields:\n  title: 'dcterms:title['\n")
    path = write(tmp_path, "repo-g.yaml", GOOD.format(id="repo-g") + "field_map: fieldmaps/bad.yaml\n")
    with pytest.raises(ConfigError) as exc:
        load_source(path)
    assert "repo-g.yaml: field 'field_map'" in str(exc.value) and "bad.yaml" in str(exc.value)
    both = write(tmp_path, "repo-h.yaml", GOOD.format(id="repo-h") + "crosswalk: oai_dc\nfield_map: x.yaml\n")
    with pytest.raises(ConfigError, match="cannot be combined"):
        load_source(both)
