"""The demo catalogue: deterministic records for every demo partner, with the same works held in
several regions (each partner spelling the DOI its own way), handle-only copies that join through
a DOI+Handle record, PID-less copies for the fallback key, deletions and a few broken records.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache

from harvest.demo import vocab
from harvest.demo.partners import PARTNERS, Partner

LATEST = datetime(2026, 10, 30, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Creator:
    family: str
    given: str
    orcid: str | None
    affiliation: str | None


@dataclass(frozen=True)
class Work:
    key: str
    title: str | None
    lang: str
    creators: tuple[Creator, ...]
    subjects: tuple[str, ...]
    description: str
    year: int
    rtype: str
    license: str
    publisher: str
    doi: str | None = None  # canonical lower-case form; each partner spells it its own way
    handle: str | None = None
    cstr: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class DemoRecord:
    oai_id: str
    datestamp: datetime
    sets: tuple[str, ...]
    work: Work
    deleted: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def orcid_from(n: int) -> str:
    """A well-formed ORCID iD (valid ISO 7064 11,2 check digit) from a number."""
    base = f"0000000{2 + n % 2}{n % 10**7:07d}"
    total = 0
    for ch in base:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    digits = base + ("X" if check == 10 else str(check))
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def _work(rng: random.Random, key: str, region: str, lang: str, publisher: str) -> Work:
    year = rng.randint(2012, 2026)
    title = vocab.TEMPLATES[lang].format(
        topic=rng.choice(vocab.TOPICS[lang]), place=rng.choice(vocab.PLACES[lang]), year=year
    )
    names = vocab.NAMES[region]
    creators = tuple(
        Creator(
            fam,
            giv,
            orcid_from(rng.randrange(10**14)) if rng.random() < 0.6 else None,
            rng.choice(vocab.AFFILIATIONS[region]) if rng.random() < 0.7 else None,
        )
        for fam, giv in rng.sample(names, k=rng.randint(1, min(4, len(names))))
    )
    return Work(
        key=key,
        title=title,
        lang=lang,
        creators=creators,
        subjects=tuple(rng.sample(vocab.SUBJECTS, k=rng.randint(1, 3))),
        description=vocab.DESCRIPTIONS[lang],
        year=year,
        rtype=rng.choices(list(vocab.TYPES), weights=[6, 4, 2, 1, 1])[0],
        license=rng.choice(vocab.LICENSES),
        publisher=publisher,
    )


def long_abstract(key: str, lang: str) -> str:
    """A work's own abstract: its language's short description, then a deterministic run of
    abstract words whose length is spread as real abstracts' are (log-normal: median ~50 words,
    a long tail, at most 1 000)."""
    rng = random.Random(f"abstract:{key}")
    words = min(1000, max(5, int(rng.lognormvariate(3.95, 1.3))))
    return f"{vocab.DESCRIPTIONS[lang]} {' '.join(rng.choices(vocab.ABSTRACT_WORDS, k=words))}."


def _datestamp(rng: random.Random, p: Partner) -> datetime:
    start = datetime.fromisoformat(p.earliest.replace("Z", "+00:00"))
    span = int((LATEST - start).total_seconds())
    stamp = start + timedelta(seconds=rng.randrange(span))
    return stamp.replace(hour=0, minute=0, second=0) if p.granularity == "YYYY-MM-DD" else stamp


def _own_works(p: Partner) -> list[Work]:
    rng = random.Random(f"own:{p.id}")
    works = []
    for i in range(p.own_works):
        lang = rng.choices(p.languages, weights=range(len(p.languages) * 2, 0, -2))[0]
        w = _work(rng, f"{p.id}-{i}", p.region, lang, p.publisher)
        if p.long_abstracts:  # its own generator: the catalogue's draws stay the same
            w = replace(w, description=long_abstract(w.key, lang))
        roll = rng.random()
        suffix = f"{p.id.split('-')[0]}.{1000 + i}"
        url = f"https://{p.repository_id}/record/{1000 + i}"
        if "oai_datacite" in p.formats[:1] or "oai_openaire" in p.formats[:1] or roll < 0.7:
            w = replace(w, doi=f"{p.doi_prefix}/{suffix}".lower(), url=url)
        elif roll < 0.9:
            w = replace(w, handle=f"{p.doi_prefix.split('.')[1]}/{1000 + i}", url=url)
        else:
            w = replace(w, url=url)
        if p.region == "china" and w.doi:
            w = replace(w, cstr=f"31253.11.sciencedb.{1000 + i:05d}")
        if p.region == "latin-america" and rng.random() < 0.5:
            w = replace(w, handle=f"20.500.12008/{1000 + i}")
        works.append(w)
    return works


@lru_cache(maxsize=1)
def shared_holdings() -> dict[str, list[Work]]:
    """Works held by two or three partners: DOI-linked, DOI+Handle chains and PID-less copies."""
    rng = random.Random("shared")
    ids = [p.id for p in PARTNERS]
    by_id = {p.id: p for p in PARTNERS}
    held: dict[str, list[Work]] = {pid: [] for pid in ids}
    for i in range(90):  # same DOI, written differently in 2-3 regions
        home = by_id[rng.choice(ids)]
        others = rng.sample([x for x in ids if x != home.id], k=rng.choice([1, 1, 2]))
        lang = rng.choice(home.languages)
        w = _work(rng, f"shared-{i}", home.region, lang, home.publisher)
        w = replace(w, doi=f"{home.doi_prefix}/shared.{i}".lower())
        for holder in (home.id, *others):
            held[holder].append(replace(w, url=f"https://{by_id[holder].repository_id}/record/s{i}"))
    for i in range(12):  # eosc: DOI only; lareferencia: DOI + Handle; aosp: Handle only
        w = _work(rng, f"chain-{i}", "latin-america", "es", "LA Referencia")
        doi, hdl = f"10.35537/chain.{i}", f"20.500.12008/chain{i}"
        held["eosc-zenodo"].append(replace(w, doi=doi, url=f"https://zenodo.eosc.demo/record/c{i}"))
        held["lareferencia"].append(replace(w, doi=doi, handle=hdl, url=f"https://lareferencia.demo/c{i}"))
        held["aosp-africa"].append(replace(w, handle=hdl, url=f"https://repository.aosp.demo/c{i}"))
    for i in range(6):  # no PID at all: only the fallback key can join them
        zh = i % 2 == 0
        w = _work(rng, f"nopid-{i}", "china" if zh else "africa", "zh" if zh else "en", "")
        first, second = ("cstcloud-sciencedb", "mosp-malaysia") if zh else ("aosp-africa", "mosp-malaysia")
        for holder in (first, second):
            held[holder].append(
                replace(w, publisher=by_id[holder].publisher, url=f"https://{by_id[holder].repository_id}/np{i}")
            )
    return held


def records_for(partner: str | Partner) -> tuple[DemoRecord, ...]:
    """Every record of one partner (a demo partner's id, or any Partner, e.g. a benchmark's),
    ordered by (datestamp, identifier) as a provider stores them."""
    p = partner if isinstance(partner, Partner) else next(x for x in PARTNERS if x.id == partner)
    return _records(p)


@cache
def _records(p: Partner) -> tuple[DemoRecord, ...]:
    rng = random.Random(f"records:{p.id}")
    works = _own_works(p) + shared_holdings().get(p.id, [])
    set_specs = [s for s, _ in p.sets]
    records = []
    for n, w in enumerate(works):
        sets = tuple(sorted(rng.sample(set_specs, k=rng.randint(1, len(set_specs))))) if set_specs else ()
        deleted = p.deleted_record != "no" and rng.random() < 0.03
        records.append(DemoRecord(f"oai:{p.repository_id}:{n + 1}", _datestamp(rng, p), sets, w, deleted))
    if p.id == "aosp-africa":  # two stubs without a title: quarantined, not lost
        for k in (5, 6):
            records[k] = replace(records[k], work=replace(records[k].work, title=None), deleted=False)
    if p.id == "mosp-malaysia":  # one record with no identifier at all
        records[3] = replace(records[3], work=replace(records[3].work, doi=None, handle=None, url=None), deleted=False)
    return tuple(sorted(records, key=lambda r: (r.datestamp, r.oai_id)))
