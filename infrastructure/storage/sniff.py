"""Content type from a file's first bytes (never from the client's word): magic numbers, then text."""

import json

SNIFF_BYTES = 8192
OCTET_STREAM = "application/octet-stream"

# (offset, signature, content type), checked in order: longer, more specific signatures first.
_SIGNATURES: list[tuple[int, bytes, str]] = [
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"BM", "image/bmp"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"GGUF", "application/x-gguf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"BZh", "application/x-bzip2"),
    (0, b"\xfd7zXZ\x00", "application/x-xz"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"\x28\xb5\x2f\xfd", "application/zstd"),
    (0, b"\x93NUMPY", "application/x-npy"),
    (0, b"\x89HDF\r\n\x1a\n", "application/x-hdf5"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"OggS", "audio/ogg"),
    (0, b"\x1aE\xdf\xa3", "video/webm"),
    (257, b"ustar", "application/x-tar"),
]

# ZIP containers whose first entry names the format (Office Open XML, OpenDocument).
_ZIP_MEMBERS = [
    (b"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    (b"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
]


def _riff(head: bytes) -> str | None:
    if head[:4] != b"RIFF" or len(head) < 12:
        return None
    return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(head[8:12])


def _iso_media(head: bytes) -> str | None:
    if head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in (b"avif", b"avis"):
        return "image/avif"
    if brand in (b"heic", b"heix", b"mif1"):
        return "image/heic"
    if brand == b"qt  ":
        return "video/quicktime"
    return "audio/mp4" if brand == b"M4A " else "video/mp4"


def _safetensors(head: bytes) -> bool:
    """An 8-byte little-endian header length, then a JSON header."""
    if len(head) < 10 or head[8:9] != b"{":
        return False
    header_length = int.from_bytes(head[:8], "little")
    return 2 <= header_length < 100_000_000


def _text(head: bytes, complete: bool) -> str | None:
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The sample may end inside a multi-byte character; only an error before its last 3 bytes counts.
        if complete or error.start < len(head) - 3:
            return None
        text = head[: error.start].decode("utf-8")
    stripped = text.lstrip("\ufeff \t\r\n")
    lowered = stripped[:256].lower()
    if lowered.startswith(("<!doctype html", "<html")):
        return "text/html"
    if lowered.startswith("<svg") or (lowered.startswith("<?xml") and "<svg" in stripped.lower()):
        return "image/svg+xml"
    if lowered.startswith("<?xml"):
        return "application/xml"
    if stripped[:1] in ("{", "["):
        if complete:
            try:
                json.loads(text)
                return "application/json"
            except ValueError:
                pass
        lines = [line for line in stripped.splitlines()[:20] if line.strip()]
        if not complete:
            lines = lines[:-1]  # the last line of a sample may be cut short
        if lines and all(_is_json(line) for line in lines):
            return "application/x-ndjson" if len(lines) > 1 or not complete else "application/json"
    return "text/plain"


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def sniff_content_type(head: bytes, *, complete: bool = False) -> str:
    """The content type of a file that starts with `head` (`complete` when `head` is the whole file)."""
    for offset, signature, content_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if content_type == "application/zip":
                return next(
                    (kind for member, kind in _ZIP_MEMBERS if head[30 : 30 + len(member)] == member), content_type
                )
            return content_type
    for detector in (_riff, _iso_media):
        if content_type := detector(head):
            return content_type
    if _safetensors(head):
        return "application/x-safetensors"
    if not head:
        return "application/x-empty"
    return _text(head, complete) or OCTET_STREAM
