"""Contract of infrastructure/storage/minio_multipart.py: minio's private multipart calls still take
what the adapter passes, and a real multipart upload through them (SeaweedFS) joins its parts in order."""

import uuid

from infrastructure.storage import minio_multipart
from tests.adapters.contract import holds, parameters

PART = 5 * 1024 * 1024  # S3's least part size, except for the last part


def test_the_private_calls_keep_their_parameters():
    from minio import Minio

    expected = {
        "_create_multipart_upload": ["self", "bucket_name", "object_name", "headers"],
        "_upload_part": ["self", "bucket_name", "object_name", "data", "headers", "upload_id", "part_number"],
        "_complete_multipart_upload": ["self", "bucket_name", "object_name", "upload_id", "parts"],
        "_abort_multipart_upload": ["self", "bucket_name", "object_name", "upload_id"],
    }
    for name, names in expected.items():
        with holds(minio_multipart, f"Minio.{name}"):
            assert parameters(getattr(Minio, name))[: len(names)] == names


def test_a_multipart_upload_through_the_adapter_joins_its_parts_in_order(s3_server):
    from minio import Minio

    client = Minio(s3_server.endpoint, access_key=s3_server.access_key, secret_key=s3_server.secret_key, secure=False)
    bucket, key = f"adapter-{uuid.uuid4().hex[:12]}", "uploads/contract"
    client.make_bucket(bucket)
    parts = [bytes([number]) * PART for number in (1, 2)] + [b"tail"]
    with holds(minio_multipart, "a multipart upload"):
        upload_id = minio_multipart.multipart_create(client, bucket=bucket, key=key, content_type="text/plain")
        etags = [
            minio_multipart.multipart_upload_part(
                client, bucket=bucket, key=key, upload_id=upload_id, number=number, data=data
            )
            for number, data in enumerate(parts, start=1)
        ]
        minio_multipart.multipart_complete(client, bucket=bucket, key=key, upload_id=upload_id, etags=etags)
    response = client.get_object(bucket, key)
    try:
        assert response.read() == b"".join(parts)
        assert response.headers["Content-Type"] == "text/plain"
    finally:
        response.close()
        response.release_conn()


def test_an_aborted_upload_leaves_no_object(s3_server):
    from minio import Minio
    from minio.error import S3Error

    client = Minio(s3_server.endpoint, access_key=s3_server.access_key, secret_key=s3_server.secret_key, secure=False)
    bucket, key = f"adapter-{uuid.uuid4().hex[:12]}", "uploads/aborted"
    client.make_bucket(bucket)
    with holds(minio_multipart, "an aborted multipart upload"):
        upload_id = minio_multipart.multipart_create(client, bucket=bucket, key=key, content_type="text/plain")
        minio_multipart.multipart_upload_part(
            client, bucket=bucket, key=key, upload_id=upload_id, number=1, data=b"x" * PART
        )
        minio_multipart.multipart_abort(client, bucket=bucket, key=key, upload_id=upload_id)
    try:
        client.stat_object(bucket, key)
        raise AssertionError("an aborted upload left an object")
    except S3Error as error:
        assert error.code == "NoSuchKey"
