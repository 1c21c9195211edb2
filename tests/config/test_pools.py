"""One Airflow pool per partner host, sized by the strictest politeness among its sources."""

from __future__ import annotations

from harvest.config.pools import pool_for, pools
from harvest.config.sources import Politeness, Source


def src(sid, endpoint, slots):
    return Source(
        id=sid,
        name=sid,
        region="europe",
        endpoint=endpoint,
        metadata_prefix="oai_dc",
        politeness=Politeness(max_concurrency=slots),
    )


def test_sources_on_one_host_share_a_pool_with_the_smallest_cap():
    doc = pools(
        [
            src("a", "https://repo.example.org/oai", 4),
            src("b", "https://REPO.example.org:443/other", 2),
            src("c", "http://data.example.net/oai2d", 3),
        ]
    )
    assert doc == {
        "oai_host_data_example_net": {
            "slots": 3,
            "description": "OAI-PMH requests to data.example.net (gosc-harvest)",
            "include_deferred": False,
        },
        "oai_host_repo_example_org": {
            "slots": 2,
            "description": "OAI-PMH requests to repo.example.org (gosc-harvest)",
            "include_deferred": False,
        },
    }


def test_an_unset_endpoint_variable_still_names_a_pool():
    assert pool_for(src("d", "${NOT_SET_ANYWHERE}/oai", 1))["name"].startswith("oai_host_")
