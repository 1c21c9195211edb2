"""Shared fixtures: the demo partner network on 127.0.0.1, isolated data folders, test data paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from harvest.config.sources import Source
from harvest.demo import PARTNERS, DemoNetwork

DATA = Path(__file__).parent / "data"
PROJECT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads or writes the user's ./data or ./sources by accident."""
    monkeypatch.setenv("HARVEST_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("HARVEST_SOURCES", str(PROJECT / "sources" / "demo"))
    monkeypatch.delenv("GOSC_DEMO_URL", raising=False)


@pytest.fixture(scope="session")
def demo_network():
    """The demo partners, served on 127.0.0.1 for the whole session and stopped after it."""
    with DemoNetwork() as net:
        yield net


@pytest.fixture
def demo_sources(demo_network) -> list[Source]:
    """A Source per demo partner, pointing at the running network, harvesting its first format."""
    return [
        Source(id=p.id, name=p.name, region=p.region, endpoint=demo_network.url_for(p.id), metadata_prefix=p.formats[0])
        for p in PARTNERS
    ]


def fixture_metadata(name: str):
    """The <metadata> element of the first record in a test data file."""
    tree = etree.parse(str(DATA / "oai" / name))
    return tree.find(".//{http://www.openarchives.org/OAI/2.0/}metadata")


def fixture_payload(name: str):
    """A payload-only file of tests/data/crosswalk, wrapped in <metadata> as an OAI-PMH record carries it."""
    metadata = etree.Element("{http://www.openarchives.org/OAI/2.0/}metadata")
    metadata.append(etree.parse(str(DATA / "crosswalk" / name)).getroot())
    return metadata
