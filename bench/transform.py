"""Transform throughput per format: page parse + crosswalk, against lxml's bare parse of the same pages."""
from __future__ import annotations

import time

from lxml import etree

from harvest.crosswalk import get_crosswalk
from harvest.demo.catalog import records_for
from harvest.demo.partners import PARTNERS
from harvest.demo.provider import Provider
from harvest.oai.page import parse_page
from harvest.records import Lineage, map_record


def pages_for(prefix: str, partner_id: str, n_pages: int) -> list[bytes]:
    provider = Provider(next(p for p in PARTNERS if p.id == partner_id), "http://127.0.0.1/oai", page_size=200)
    body = provider.handle({"verb": ["ListRecords"], "metadataPrefix": [prefix]})[1]
    return [body] * n_pages


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(n_pages: int = 50) -> list[dict]:
    results = []
    for prefix, partner_id in (("oai_dc", "ardc-rda"), ("oai_datacite", "eosc-zenodo"),
                               ("oai_openaire", "lareferencia")):
        pages = pages_for(prefix, partner_id, n_pages)
        per_page = len(parse_page(pages[0], "bench").items)
        n = per_page * n_pages
        crosswalk = get_crosswalk(prefix)
        lin = Lineage("bench", "europe", prefix, "bench", __import__("datetime").datetime.now(), crosswalk.version)

        def bare():
            for body in pages:
                etree.fromstring(body)

        def ours():
            for body in pages:
                for record in parse_page(body, "bench").items:
                    map_record(record, crosswalk, lin, "bench")

        t_bare, t_ours = best_of(bare), best_of(ours)
        results.append({"format": prefix, "records": n, "lxml_parse_rec_per_s": round(n / t_bare),
                        "parse_and_crosswalk_rec_per_s": round(n / t_ours),
                        "ratio_to_bare_parse": round(t_ours / t_bare, 2)})
    return results
