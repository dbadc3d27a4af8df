"""Adapter: minio's private multipart calls, written for minio 7.2 (7.2.20).

S3Upload sends an upload's parts as they arrive (push), with a bounded number in flight. minio's public
`put_object` pulls from a stream in a loop of its own instead; driven from a thread over a pipe it does
the same work, but when the stream fails midway (a client that disconnects) it leaves the threads of
its own pool waiting forever, one set per broken upload. Its four multipart calls do exactly what S3
names (CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload) and are kept
here, the one place that names them; tests/adapters/test_minio_multipart.py fails with this module's
name when minio moves them. minio 8 is not on PyPI yet; boto3's public multipart calls would do the
same with a second S3 SDK.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # minio itself loads with the S3 backend only, as in backends.py
    from minio import Minio

WRITTEN_FOR = "minio 7.2"


def multipart_create(client: "Minio", *, bucket: str, key: str, content_type: str) -> str:
    """Start a multipart upload; returns its upload id."""
    return client._create_multipart_upload(bucket, key, {"Content-Type": content_type})


def multipart_upload_part(client: "Minio", *, bucket: str, key: str, upload_id: str, number: int, data: bytes) -> str:
    """Send part `number` (from 1); returns its ETag."""
    return client._upload_part(bucket, key, data, None, upload_id, number)


def multipart_complete(client: "Minio", *, bucket: str, key: str, upload_id: str, etags: list[str]) -> None:
    """Join the parts, in order, into the object."""
    from minio.datatypes import Part

    parts = [Part(number, etag) for number, etag in enumerate(etags, start=1)]
    client._complete_multipart_upload(bucket, key, upload_id, parts)


def multipart_abort(client: "Minio", *, bucket: str, key: str, upload_id: str) -> None:
    client._abort_multipart_upload(bucket, key, upload_id)
