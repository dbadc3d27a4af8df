"""Writes for provenance: record what made an artifact, and put the record's id into the artifact's
metadata (an XMP packet for PNG and PDF, a C2PA manifest for PNG).

Producers call `provenance_record` in the transaction that stores their artifact, with a `key` that
names the artifact within its job (or its parent record): a task that runs twice finds the record it
wrote the first time and brings it up to date instead of adding a second one.

The request's hash is SHA-256 over its canonical JSON: keys sorted, no insignificant whitespace,
UTF-8 (non-ASCII kept as is), values JSON cannot hold written as strings (`request_sha256`)."""

import hashlib
import io
import json
import logging
import os
import uuid
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.db import transaction

from infrastructure.provenance.models import TRAINED_ALGORITHMIC_MEDIA, ArtifactKind, ProvenanceRecord

logger = logging.getLogger(__name__)

PRODUCER = "AIGC Platform"
# The response header that names the provenance record of a downloaded export.
PROVENANCE_HEADER = "X-Provenance-Id"
# The C2PA assertion the platform adds beside c2pa.actions: the record's id and where to look it up.
C2PA_ASSERTION = "org.aigc-platform.provenance"


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def request_sha256(request: Any) -> str:
    return hashlib.sha256(canonical_json(request)).hexdigest()


def content_sha256(content: bytes | str | None) -> str:
    if content is None:
        return ""
    return hashlib.sha256(content.encode("utf-8") if isinstance(content, str) else content).hexdigest()


def provenance_id_new() -> uuid.UUID:
    """An id minted before the artifact is written, so the artifact can carry it (`record_id=`)."""
    return uuid.uuid4()


def record_path(record_id) -> str:
    return f"/provenance/{record_id}"


@transaction.atomic
def provenance_record(
    *,
    key: str,
    kind: str,
    artifact_ref: str,
    owner_id: int | None,
    request: Any,
    generator_slug: str = "",
    generator_version: int | None = None,
    generator_version_pk: int | None = None,
    job_id=None,
    parent: ProvenanceRecord | None = None,
    content: bytes | str | None = None,
    media_type: str = "",
    artifact_url: str = "",
    detail: dict[str, Any] | None = None,
    record_id: uuid.UUID | None = None,
) -> ProvenanceRecord:
    """Record (or bring up to date, for the same `key`) what made one artifact. Call it inside the
    transaction that stores the artifact. `record_id` is an id minted earlier (provenance_id_new) for
    an artifact that carries it; a record found under `key` keeps its own id."""
    if kind not in ArtifactKind.values:
        raise ValueError(f"Unknown artifact kind {kind!r}.")
    fields = {
        "kind": kind,
        "artifact_ref": artifact_ref,
        "artifact_url": artifact_url,
        "media_type": media_type,
        "content_sha256": content_sha256(content),
        "generator_slug": generator_slug,
        "generator_version": generator_version,
        "generator_version_pk": generator_version_pk,
        "request_sha256": request_sha256(request),
        "owner_id": owner_id,
        "job_id": job_id,
        "parent": parent,
        "detail": detail or {},
    }
    existing = ProvenanceRecord.objects.select_for_update().filter(key=key).first()
    if existing is not None:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
        return existing
    return ProvenanceRecord.objects.create(key=key, id=record_id or provenance_id_new(), **fields)


def provenance_record_derived(
    *,
    sources: list[ProvenanceRecord],
    kind: str,
    artifact_ref: str,
    owner_id: int | None,
    media_type: str,
    request: Any,
    job_id=None,
    detail: dict[str, Any] | None = None,
) -> ProvenanceRecord:
    """A record for an artifact made from others (an export of a lesson, of a generation's variants):
    one per artifact and set of sources, however often it is made again; new sources (an item written
    again) make a new record. The generator is the sources' where they share one; a single source is
    the record's parent, and every source is listed in its detail."""
    first = sources[0] if sources else None
    shared = first is not None and all(
        (source.generator_slug, source.generator_version) == (first.generator_slug, first.generator_version)
        for source in sources
    )
    source_ids = sorted(str(source.pk) for source in sources)
    return provenance_record(
        key=f"{artifact_ref}@{hashlib.sha256(','.join(source_ids).encode()).hexdigest()[:32]}",
        kind=kind,
        artifact_ref=artifact_ref,
        owner_id=owner_id,
        request=request,
        generator_slug=first.generator_slug if shared else "",
        generator_version=first.generator_version if shared else None,
        generator_version_pk=first.generator_version_pk if shared else None,
        job_id=job_id or (first.job_id if first else None),
        parent=first if len(sources) == 1 else None,
        media_type=media_type,
        detail={**(detail or {}), "sources": source_ids},
    )


# Metadata written into artifacts ----------------------------------------------------------------

XMP_NAMESPACES = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "aigc": "https://aigc-platform.invalid/ns/provenance/1.0/",
}


def xmp_description(*, record_id, generator: str) -> str:
    """The rdf:Description of a generated artifact: IPTC's digital source type (trainedAlgorithmicMedia),
    the record's id (dc:identifier as a URN, and the platform's own property) and the generator."""
    declarations = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in XMP_NAMESPACES.items() if prefix != "x")
    return (
        f'<rdf:Description rdf:about="" {declarations}>'
        f"<Iptc4xmpExt:DigitalSourceType>{TRAINED_ALGORITHMIC_MEDIA}</Iptc4xmpExt:DigitalSourceType>"
        f"<dc:identifier>urn:uuid:{record_id}</dc:identifier>"
        f"<xmp:CreatorTool>{escape(f'{PRODUCER} ({generator})' if generator else PRODUCER)}</xmp:CreatorTool>"
        f"<aigc:ProvenanceId>{record_id}</aigc:ProvenanceId>"
        f"<aigc:ProvenancePath>{record_path(record_id)}</aigc:ProvenancePath>"
        f"<aigc:Generator>{escape(generator)}</aigc:Generator>"
        "</rdf:Description>"
    )


def xmp_rdf(*, record_id, generator: str) -> str:
    """An x:xmpmeta packet body (no <?xpacket> wrapper: PDF writers add their own)."""
    return (
        f'<x:xmpmeta xmlns:x="{XMP_NAMESPACES["x"]}"><rdf:RDF xmlns:rdf="{XMP_NAMESPACES["rdf"]}">'
        f"{xmp_description(record_id=record_id, generator=generator)}</rdf:RDF></x:xmpmeta>"
    )


def xmp_packet(*, record_id, generator: str) -> str:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        f'{xmp_rdf(record_id=record_id, generator=generator)}<?xpacket end="r"?>'
    )


def provenance_front_matter(record_id) -> list[str]:
    """The lines of a Markdown export's front matter that name its provenance record (none without one)."""
    if not record_id:
        return []
    return [f"provenance_id: {record_id}", f"provenance_url: {record_path(record_id)}"]


def png_with_provenance(picture, *, record_id, generator: str, title: str) -> bytes:
    """`picture` (a PIL image) as PNG bytes that carry the record: an XMP packet (iTXt chunk
    XML:com.adobe.xmp), then, where C2PA signing works, a signed C2PA manifest over the whole file."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet(record_id=record_id, generator=generator))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", pnginfo=info)
    return c2pa_sign(buffer.getvalue(), media_type="image/png", record_id=record_id, generator=generator, title=title)


# C2PA ------------------------------------------------------------------------------------------


def c2pa_manifest(*, record_id, generator: str, title: str) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": PRODUCER, "version": "1"}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": {"name": generator or PRODUCER},
                        }
                    ]
                },
            },
            {"label": C2PA_ASSERTION, "data": {"id": str(record_id), "path": record_path(record_id)}},
        ],
    }


def c2pa_sign(data: bytes, *, media_type: str, record_id, generator: str, title: str) -> bytes:
    """`data` with a C2PA manifest signed by the deployment's credentials (c2pa_credentials), or
    unchanged where C2PA is switched off (AIGC_C2PA=False) or its library is missing."""
    if not settings.AIGC_C2PA:
        return data
    try:
        import c2pa
    except ImportError:
        logger.warning("c2pa-python is not installed: images carry XMP metadata only.")
        return data
    chain, key = c2pa_credentials()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, key, None))
    builder = c2pa.Builder(json.dumps(c2pa_manifest(record_id=record_id, generator=generator, title=title)))
    signed = io.BytesIO()
    builder.sign(signer, media_type, io.BytesIO(data), signed)
    return signed.getvalue()


def c2pa_credentials() -> tuple[bytes, bytes]:
    """The signing certificate chain and its private key (PEM): the files AIGC_C2PA_CERT_CHAIN and
    AIGC_C2PA_PRIVATE_KEY name, else a chain this deployment made once under its data directory (a
    local CA and an ES256 signing certificate below it). C2PA readers call such a chain valid but
    untrusted until its CA is on their trust list; C2PA refuses a self-signed signing certificate."""
    if settings.AIGC_C2PA_CERT_CHAIN and settings.AIGC_C2PA_PRIVATE_KEY:
        with open(settings.AIGC_C2PA_CERT_CHAIN, "rb") as chain, open(settings.AIGC_C2PA_PRIVATE_KEY, "rb") as key:
            return chain.read(), key.read()
    folder = settings.DATA_DIR / "c2pa"
    chain_path, key_path = folder / "chain.pem", folder / "signer.key"
    if not (chain_path.exists() and key_path.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        chain, key = _local_signing_chain()
        # Written aside and renamed: a worker reading at the same time sees a whole file or none.
        for path, data, mode in ((key_path, key, 0o600), (chain_path, chain, 0o644)):
            aside = path.with_suffix(f".{os.getpid()}.tmp")
            aside.write_bytes(data)
            aside.chmod(mode)
            os.replace(aside, path)
    return chain_path.read_bytes(), key_path.read_bytes()


def _local_signing_chain() -> tuple[bytes, bytes]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, PRODUCER),
            ]
        )

    def usage(*, sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=not sign,
            crl_sign=not sign,
            encipher_only=False,
            decipher_only=False,
        )

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = name(f"{PRODUCER} local C2PA CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name(f"{PRODUCER} content signer"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return chain, private
