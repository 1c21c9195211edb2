"""The demo partner network: six repositories, one per region, as regional infrastructures run them.

Each entry says how that partner writes its metadata (formats, DOI spelling, granularity, deleted
record policy), so consolidation meets the same variety real partners bring.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    region: str
    repository_id: str  # oai-identifier repositoryIdentifier
    formats: tuple[str, ...]  # metadataPrefixes served; the first is the one we harvest
    granularity: str  # YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (Identify)
    deleted_record: str  # no | transient | persistent
    sets: tuple[tuple[str, str], ...]
    languages: tuple[str, ...]  # title languages, most frequent first
    publisher: str
    doi_prefix: str  # DOIs this partner mints for its own works
    doi_style: str  # how it writes any DOI: plain | doi | url | dx | upper
    own_works: int
    page_size: int
    admin_email: str
    earliest: str = "2015-01-05T00:00:00Z"
    # own works with abstracts as long as real repositories' (Zenodo's captured oai_dc: ~970
    # characters on average, median ~430) instead of one short sentence; none of the demo
    # partners, a benchmark's may (bench/harvest.py)
    long_abstracts: bool = False


PARTNERS: tuple[Partner, ...] = (
    Partner(
        "eosc-zenodo",
        "Zenodo (EOSC, demo)",
        "europe",
        "zenodo.eosc.demo",
        ("oai_datacite", "oai_dc"),
        "YYYY-MM-DDThh:mm:ssZ",
        "persistent",
        (
            ("user-eosc", "EOSC community"),
            ("openaire_data", "OpenAIRE research data"),
            ("software", "Research software"),
        ),
        ("en", "de", "fr", "es"),
        "Zenodo",
        "10.5281",
        "plain",
        560,
        50,
        "oai@zenodo.eosc.demo",
    ),
    Partner(
        "ardc-rda",
        "Research Data Australia (ARDC, demo)",
        "australia",
        "rda.ardc.demo",
        ("oai_dc", "oai_datacite"),
        "YYYY-MM-DD",
        "persistent",
        (("collection", "Collections"), ("tern", "Terrestrial Ecosystem Research Network")),
        ("en",),
        "Australian Research Data Commons",
        "10.25901",
        "url",
        380,
        40,
        "services@ardc.demo",
        "2016-03-01T00:00:00Z",
    ),
    Partner(
        "cstcloud-sciencedb",
        "ScienceDB (CSTCloud, demo)",
        "china",
        "sciencedb.cstcloud.demo",
        ("oai_datacite", "oai_dc"),
        "YYYY-MM-DDThh:mm:ssZ",
        "persistent",
        (("geoscience", "地球科学"), ("ecology", "生态学")),
        ("zh", "en"),
        "Science Data Bank",
        "10.11922",
        "upper",
        420,
        50,
        "sciencedb@cstcloud.demo",
    ),
    Partner(
        "aosp-africa",
        "African Open Science Platform (demo)",
        "africa",
        "repository.aosp.demo",
        ("oai_dc",),
        "YYYY-MM-DD",
        "transient",
        (("health", "Health sciences"), ("agriculture", "Agriculture")),
        ("en", "fr", "ar", "sw"),
        "African Open Science Platform",
        "10.48600",
        "doi",
        300,
        30,
        "oai@aosp.demo",
        "2017-06-12T00:00:00Z",
    ),
    Partner(
        "lareferencia",
        "LA Referencia (demo)",
        "latin-america",
        "lareferencia.demo",
        ("oai_openaire", "oai_dc"),
        "YYYY-MM-DDThh:mm:ssZ",
        "persistent",
        (("driver", "Driver-compliant"), ("openaire", "OpenAIRE v4")),
        ("es", "pt", "en"),
        "LA Referencia",
        "10.35537",
        "dx",
        460,
        50,
        "soporte@lareferencia.demo",
    ),
    Partner(
        "mosp-malaysia",
        "Malaysia Open Science Platform (demo)",
        "malaysia",
        "mosp.demo",
        ("oai_dc",),
        "YYYY-MM-DD",
        "no",
        (),
        ("ms", "en"),
        "Malaysia Open Science Platform",
        "10.60000",
        "plain",
        180,
        25,
        "admin@mosp.demo",
        "2019-01-02T00:00:00Z",
    ),
)


def partner(partner_id: str) -> Partner:
    for p in PARTNERS:
        if p.id == partner_id:
            return p
    raise KeyError(partner_id)
