"""Read provenance back out of artifacts with libraries that did not write it, and check that a record
is served at the API and as a page to its owner, and to nobody else.

Writers and readers: PNG XMP is written by Pillow and read here from the raw chunks (struct, zlib)
with lxml; the C2PA manifest is written by c2pa-python and found here in the PNG's caBX chunk; PPTX
core properties are written by python-pptx and read with zipfile and lxml; PDF XMP is written by fpdf2
and read with pypdf."""

import io
import struct
import zipfile
import zlib

from lxml import etree
from rest_framework.test import APIClient

from infrastructure.provenance.models import TRAINED_ALGORITHMIC_MEDIA

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "aigc": "https://aigc-platform.invalid/ns/provenance/1.0/",
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
}


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        offset += 12 + length
    return chunks


def png_xmp(data: bytes) -> etree._Element:
    """The XMP packet of a PNG (its iTXt chunk keyed XML:com.adobe.xmp), parsed by lxml."""
    for kind, body in png_chunks(data):
        if kind != b"iTXt":
            continue
        keyword, rest = body.split(b"\0", 1)
        if keyword != b"XML:com.adobe.xmp":
            continue
        compressed, _method, rest = rest[0], rest[1], rest[2:]
        _language, _translated, text = rest.split(b"\0", 2)
        return etree.fromstring(zlib.decompress(text) if compressed else text)
    raise AssertionError("the PNG has no XMP packet")


def xmp_values(root: etree._Element) -> dict[str, str]:
    def text(path: str) -> str:
        found = root.xpath(f"//{path}/text()", namespaces=NS)
        return found[0] if found else ""

    return {
        "digital_source_type": text("Iptc4xmpExt:DigitalSourceType"),
        "identifier": text("dc:identifier"),
        "provenance_id": text("aigc:ProvenanceId"),
    }


def assert_xmp_names(root: etree._Element, record_id: str) -> None:
    values = xmp_values(root)
    assert values == {
        "digital_source_type": TRAINED_ALGORITHMIC_MEDIA,
        "identifier": f"urn:uuid:{record_id}",
        "provenance_id": record_id,
    }, values


def pptx_identifier(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        core = etree.fromstring(package.read("docProps/core.xml"))
    return core.findtext("dc:identifier", namespaces=NS) or ""


def pdf_xmp(data: bytes) -> etree._Element:
    from pypdf import PdfReader

    metadata = PdfReader(io.BytesIO(data)).xmp_metadata  # pypdf finds the catalogue's /Metadata stream
    assert metadata is not None, "the PDF has no XMP metadata"
    return etree.fromstring(metadata.stream.get_data())


def front_matter(markdown: str) -> dict[str, str]:
    assert markdown.startswith("---\n"), markdown[:80]
    head = markdown[4 : markdown.index("\n---", 4)]
    return dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)


def assert_record_served(*, owner, other, record_id: str, kind: str, generator: str) -> dict:
    """The record at GET /api/v1/provenance/{id}/ and /provenance/{id} for its owner (by token and by
    session); a 404 at both for `other`. Returns the API's answer."""
    api, page = APIClient(), APIClient()
    from rest_framework.authtoken.models import Token

    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=owner)[0].key}")
    answer = api.get(f"/api/v1/provenance/{record_id}/")
    assert answer.status_code == 200, answer.content
    record = answer.json()
    assert record["id"] == record_id and record["kind"] == kind and record["owner"] == owner.username
    assert record["generator"]["label"] == generator and len(record["request_sha256"]) == 64
    page.force_login(owner)
    shown = page.get(f"/provenance/{record_id}")
    assert shown.status_code == 200
    html = shown.content.decode()
    assert record_id in html and generator in html and record["request_sha256"] in html
    if record["job"]:
        assert f'href="/jobs/{record["job"]}/"' in html
    stranger, stranger_page = APIClient(), APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=other)[0].key}")
    refused = stranger.get(f"/api/v1/provenance/{record_id}/")
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found", refused.content
    stranger_page.force_login(other)
    assert stranger_page.get(f"/provenance/{record_id}").status_code == 404
    return record
