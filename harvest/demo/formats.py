"""Serialise demo works as oai_dc, oai_datacite (oai-1.1 wrapper, kernel-4) and oai_openaire (v4)."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from harvest.demo import vocab
from harvest.demo.catalog import Work
from harvest.demo.partners import Partner

FORMATS = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", "http://www.openarchives.org/OAI/2.0/oai_dc/"),
    "oai_datacite": ("http://schema.datacite.org/oai/oai-1.1/oai.xsd", "http://schema.datacite.org/oai/oai-1.1/"),
    "oai_openaire": (
        "https://www.openaire.eu/schema/repo-lit/4.0/openaire.xsd",
        "http://namespace.openaire.eu/schema/oaire/",
    ),
}


def spell_doi(doi: str, style: str) -> str:
    """Write a DOI the way a partner does: 10.x/y, doi:10.x/y, https://doi.org/…, dx.doi.org, upper case."""
    return {
        "plain": doi,
        "doi": f"doi:{doi}",
        "url": f"https://doi.org/{doi}",
        "dx": f"https://dx.doi.org/{doi}",
        "upper": doi.upper(),
    }[style]


def _e(tag: str, value, **attrs) -> str:
    if value is None or value == "":
        return ""
    a = "".join(
        f" {k.replace('__', ':').replace('_', '')}={quoteattr(str(v))}" for k, v in attrs.items() if v is not None
    )
    return f"<{tag}{a}>{escape(str(value))}</{tag}>"


def oai_dc(w: Work, p: Partner) -> str:
    parts = [_e("dc:title", w.title, xml__lang=w.lang)]
    parts += [_e("dc:creator", f"{c.family}, {c.given}") for c in w.creators]
    parts += [_e("dc:subject", s) for s in w.subjects]
    parts += [
        _e("dc:description", w.description),
        _e("dc:publisher", w.publisher),
        _e("dc:date", f"{w.year}-06-01"),
        _e("dc:type", vocab.TYPES[w.rtype]),
    ]
    if w.doi:
        parts.append(_e("dc:identifier", spell_doi(w.doi, p.doi_style)))
    if w.handle:
        parts.append(_e("dc:identifier", f"http://hdl.handle.net/{w.handle}"))
    if w.cstr:
        parts.append(_e("dc:identifier", f"CSTR:{w.cstr}"))
    parts += [
        _e("dc:identifier", w.url),
        _e("dc:language", vocab.LANG3[w.lang]),
        _e("dc:rights", w.license),
        _e("dc:rights", "info:eu-repo/semantics/openAccess"),
    ]
    return (
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ '
        'http://www.openarchives.org/OAI/2.0/oai_dc.xsd">' + "".join(parts) + "</oai_dc:dc>"
    )


def _kernel(w: Work, p: Partner, px: str) -> list[str]:
    """DataCite kernel-4 elements; px is '' (default namespace) or 'datacite:' (OpenAIRE mix)."""
    out = []
    if w.doi:
        doi = w.doi.upper() if p.doi_style == "upper" else w.doi
        out.append(_e(f"{px}identifier", doi, identifierType="DOI"))
    elif w.handle:
        out.append(_e(f"{px}identifier", w.handle, identifierType="Handle"))
    else:
        out.append(_e(f"{px}identifier", w.url, identifierType="URL"))
    creators = "".join(
        f"<{px}creator>"
        + _e(f"{px}creatorName", f"{c.family}, {c.given}", nameType="Personal")
        + _e(f"{px}givenName", c.given)
        + _e(f"{px}familyName", c.family)
        + _e(
            f"{px}nameIdentifier",
            c.orcid and f"https://orcid.org/{c.orcid}",
            nameIdentifierScheme="ORCID",
            schemeURI="https://orcid.org",
        )
        + _e(f"{px}affiliation", c.affiliation)
        + f"</{px}creator>"
        for c in w.creators
    )
    out.append(f"<{px}creators>{creators}</{px}creators>")
    out.append(f"<{px}titles>{_e(f'{px}title', w.title, xml__lang=w.lang)}</{px}titles>")
    alts = [_e(f"{px}alternateIdentifier", w.url, alternateIdentifierType="URL")]
    if w.cstr:
        alts.append(_e(f"{px}alternateIdentifier", f"CSTR:{w.cstr}", alternateIdentifierType="CSTR"))
    if w.handle and w.doi:
        alts.append(_e(f"{px}alternateIdentifier", w.handle, alternateIdentifierType="Handle"))
    out.append(f"<{px}alternateIdentifiers>{''.join(alts)}</{px}alternateIdentifiers>")
    out.append(f"<{px}subjects>{''.join(_e(f'{px}subject', s) for s in w.subjects)}</{px}subjects>")
    out.append(f"<{px}dates>{_e(f'{px}date', f'{w.year}-06-01', dateType='Issued')}</{px}dates>")
    return out


def oai_datacite(w: Work, p: Partner) -> str:
    body = _kernel(w, p, "")
    body += [
        _e("publisher", w.publisher),
        _e("publicationYear", w.year),
        _e("resourceType", w.rtype, resourceTypeGeneral=w.rtype),
        _e("language", w.lang),
        "<rightsList>" + _e("rights", vocab.LICENSE_NAMES[w.license], rightsURI=w.license) + "</rightsList>",
        "<descriptions>" + _e("description", w.description, descriptionType="Abstract") + "</descriptions>",
    ]
    return (
        '<oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/" '
        'xsi:schemaLocation="http://schema.datacite.org/oai/oai-1.1/ '
        'http://schema.datacite.org/oai/oai-1.1/oai.xsd">'
        f"<schemaVersion>4.5</schemaVersion><datacentreSymbol>{escape(p.id.upper())}</datacentreSymbol>"
        '<payload><resource xmlns="http://datacite.org/schema/kernel-4" '
        'xsi:schemaLocation="http://datacite.org/schema/kernel-4 '
        'http://schema.datacite.org/meta/kernel-4.5/metadata.xsd">'
        + "".join(body)
        + "</resource></payload></oai_datacite>"
    )


def oai_openaire(w: Work, p: Partner) -> str:
    body = _kernel(w, p, "datacite:")
    body += [
        _e("dc:publisher", w.publisher),
        _e("dc:language", vocab.LANG3[w.lang]),
        _e("dc:description", w.description, xml__lang=w.lang),
        _e(
            "oaire:resourceType",
            w.rtype,
            resourceTypeGeneral="literature" if w.rtype != "Dataset" else "dataset",
            uri=f"http://purl.org/coar/resource_type/{vocab.COAR[w.rtype]}",
        ),
        _e("datacite:rights", "open access", rightsURI="http://purl.org/coar/access_right/c_abf2"),
        _e("oaire:licenseCondition", vocab.LICENSE_NAMES[w.license], uri=w.license),
    ]
    return (
        '<oaire:resource xmlns:oaire="http://namespace.openaire.eu/schema/oaire/" '
        'xmlns:datacite="http://datacite.org/schema/kernel-4" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xsi:schemaLocation="http://namespace.openaire.eu/schema/oaire/ '
        'https://www.openaire.eu/schema/repo-lit/4.0/openaire.xsd">' + "".join(body) + "</oaire:resource>"
    )


SERIALISERS = {"oai_dc": oai_dc, "oai_datacite": oai_datacite, "oai_openaire": oai_openaire}
