"""Original documents in S3 as claim checks (``ports.FileStore``): the bucket is encrypted with Koppel's KMS key and
expires them by its lifecycle rule (infra/template.yaml, FilesBucket); only their reference travels on a queue."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from koppel.errors import PermanentError, RetryableError
from koppel.files import claim_check

if TYPE_CHECKING:
    from koppel.model import DocumentRef


class S3FileStore:
    def __init__(self, bucket: str, s3: Any) -> None:
        self._bucket = bucket
        self._s3 = s3

    def put(self, connection_id: str, filename: str, content_type: str, data: bytes) -> DocumentRef:
        ref = claim_check(self._bucket, connection_id, filename, content_type, data)
        # The bucket's default encryption (SSE-KMS with Koppel's key) applies; the checksum makes S3 refuse a
        # body damaged on the way.
        self._s3.put_object(
            Bucket=self._bucket, Key=ref.key, Body=data, ContentType=content_type, ChecksumAlgorithm="SHA256"
        )
        return ref

    def read(self, ref: DocumentRef) -> bytes:
        try:
            data: bytes = self._s3.get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NoSuchBucket"):
                raise PermanentError(
                    f"the original {ref.filename!r} is no longer kept (files expire after 35 days): read the "
                    "document from the source again (koppel backfill) to attach it"
                ) from error
            raise RetryableError(f"the original {ref.filename!r} could not be read from S3 ({code})") from error
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise PermanentError(f"the file kept as {ref.filename!r} is not the one the document names")
        return data
