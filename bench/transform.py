"""Transform throughput per format: page parse + crosswalk, against lxml's bare parse of the same pages
and the lean generic field extraction of benchmark (b) (bench/lean.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from lxml import etree

from bench.lean import generic_fields
from harvest.crosswalk import get_crosswalk
from harvest.demo.partners import PARTNERS
from harvest.demo.provider import Provider
from harvest.oai.page import parse_page
from harvest.records.rows import Lineage, map_record


def pages_for(prefix: str, partner_id: str, n_pages: int) -> list[bytes]:
    provider = Provider(next(p for p in PARTNERS if p.id == partner_id), "http://127.0.0.1/oai", page_size=200)
    body = provider.handle({"verb": ["ListRecords"], "metadataPrefix": [prefix]})[1]
    return [body] * n_pages


DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "crosswalk"


def payload_pages(files: list[str], n_pages: int, per_page: int = 200) -> list[bytes]:
    """ListRecords pages built around payload-only records (formats the demo network does not serve)."""
    payloads = [re.sub(rb"^<\?xml[^>]*\?>", b"", (DATA / f).read_bytes()).strip() for f in files]
    records = b"".join(
        b"<record><header><identifier>oai:bench:%d</identifier><datestamp>2024-01-01</datestamp></header>"
        b"<metadata>%s</metadata></record>" % (i, payloads[i % len(payloads)])
        for i in range(per_page)
    )
    page = (
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z'
        b"</responseDate><request>x</request><ListRecords>" + records + b"</ListRecords></OAI-PMH>"
    )
    return [page] * n_pages


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(n_pages: int = 50) -> list[dict]:
    results = []
    cases = [
        (prefix, pages_for(prefix, pid, n_pages))
        for prefix, pid in (("oai_dc", "ardc-rda"), ("oai_datacite", "eosc-zenodo"), ("oai_openaire", "lareferencia"))
    ]
    cases += [
        ("rif", payload_pages(["rif_dataset_doi.xml", "ands_collection_all_elements.xml"], n_pages)),
        ("marc21", payload_pages(["marc21_dataset_doi.xml", "marc21_thesis_handle.xml"], n_pages)),
    ]
    for prefix, pages in cases:
        per_page = len(parse_page(pages[0], "bench").items)
        n = per_page * n_pages
        crosswalk = get_crosswalk(prefix)
        lin = Lineage("bench", "europe", prefix, "bench", __import__("datetime").datetime.now(), crosswalk.version)

        def bare():
            for body in pages:
                etree.fromstring(body)

        def generic():  # benchmark (b)'s lean extraction, without the network
            for body in pages:
                generic_fields(etree.fromstring(body))

        def ours():
            for body in pages:
                for record in parse_page(body, "bench").items:
                    map_record(record, crosswalk, lin, "bench")

        t_bare, t_generic, t_ours = best_of(bare), best_of(generic), best_of(ours)
        results.append(
            {
                "format": prefix,
                "records": n,
                "lxml_parse_rec_per_s": round(n / t_bare),
                "parse_and_generic_fields_rec_per_s": round(n / t_generic),
                "parse_and_crosswalk_rec_per_s": round(n / t_ours),
                "ratio_to_bare_parse": round(t_ours / t_bare, 2),
            }
        )
    return results
