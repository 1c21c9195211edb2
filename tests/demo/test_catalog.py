"""The demo catalogue's long-abstract option (harvest.demo.partners.Partner.long_abstracts), used by
the benchmark's second oai_dc data set: abstracts spread as real ones, nothing else changed."""

from __future__ import annotations

import statistics
from dataclasses import replace

from harvest.demo.catalog import long_abstract, records_for
from harvest.demo.partners import partner


def test_long_abstracts_change_only_the_descriptions_and_are_as_long_as_zenodos():
    short = replace(partner("ardc-rda"), id="bench-short", own_works=3000)
    long = replace(short, long_abstracts=True)  # the same partner: the same draws
    plain, rich = records_for(short), records_for(long)
    assert not any(p.long_abstracts for p in (partner("ardc-rda"), partner("eosc-zenodo")))
    assert len(plain) == len(rich)
    for a, b in zip(plain, rich):  # same records, same order, same works but for the abstract
        assert (a.oai_id, a.datestamp, a.deleted) == (b.oai_id, b.datestamp, b.deleted)
        assert replace(a.work, description="") == replace(b.work, description="")
        assert b.work.description.startswith(a.work.description)
    lengths = [len(r.work.description) for r in rich]
    # Zenodo's captured oai_dc abstracts: ~970 characters on average, median ~430
    assert 800 < statistics.mean(lengths) < 1150 and 350 < statistics.median(lengths) < 650
    assert len({r.work.description for r in rich}) > 0.95 * len(rich)  # each its own text
    own = [r.work for r in rich if r.work.key.startswith(long.id)]
    assert len(own) == 3000 and all(long_abstract(w.key, w.lang) == w.description for w in own)  # deterministic
