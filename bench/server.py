"""A benchmark partner of N records served on 127.0.0.1 in its own process (so that the harvester
measured does not share a GIL with the server). Prints its base URL, serves until killed."""

from __future__ import annotations

import sys
from dataclasses import replace

from harvest.demo.partners import PARTNERS
from harvest.demo.server import DemoNetwork


def bench_partner(n: int, fmt: str, page_size: int = 500, long_abstracts: bool = False):
    """`long_abstracts`: records with abstracts as long as Zenodo's (harvest.demo.catalog.long_abstract)
    instead of one short sentence each."""
    base = next(p for p in PARTNERS if p.id == ("eosc-zenodo" if fmt != "oai_dc" else "ardc-rda"))
    return replace(
        base,
        id=f"bench-{fmt}-{n}",
        formats=(fmt,),
        own_works=n,
        page_size=page_size,
        sets=(),
        granularity="YYYY-MM-DDThh:mm:ssZ",
        deleted_record="persistent",
        long_abstracts=long_abstracts,
    )


if __name__ == "__main__":
    n, fmt = int(sys.argv[1]), sys.argv[2]
    latency = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    page_size = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    long_abstracts = len(sys.argv) > 5 and sys.argv[5] == "long"
    partner = bench_partner(n, fmt, page_size, long_abstracts)
    net = DemoNetwork(partners=(partner,))
    if latency:
        from harvest.demo.faults import Fault

        net.inject(partner.id, Fault("slow", seconds=latency, page=None, times=None, verb=None))
    print(net.url_for(partner.id), flush=True)
    net.serve_forever()
