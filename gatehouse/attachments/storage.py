"""Blob storage behind one small interface, with two backends: local files and S3.

Keys are generated ids, never derived from a client's filename. Writers stream: memory stays
bounded by one chunk (local) or one multipart part (S3) whatever the file size."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

S3_PART_SIZE = 5 * 1024 * 1024  # the S3 minimum; also the per-upload buffer bound
READ_CHUNK = 256 * 1024


class BlobWriter(Protocol):
    async def write(self, chunk: bytes) -> None: ...
    async def commit(self) -> None: ...
    async def abort(self) -> None: ...


class Storage(Protocol):
    kind: str

    async def writer(self, key: str) -> BlobWriter: ...
    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...
    async def delete(self, key: str) -> None: ...
    async def exists(self, key: str) -> bool: ...
    async def close(self) -> None: ...


# --- local filesystem ------------------------------------------------------------------------------


WRITE_BEHIND = 1024 * 1024


class LocalWriter:
    def __init__(self, final: Path, temp: Path) -> None:
        self.final = final
        self.temp = temp
        self.fh = open(temp, "wb")
        self.written = self.kicked = 0

    async def write(self, chunk: bytes) -> None:
        # Page-cache writes of one chunk are microseconds; a thread hop per chunk would cost more.
        self.fh.write(chunk)
        self.written += len(chunk)
        if self.written - self.kicked >= WRITE_BEHIND and hasattr(os, "posix_fadvise"):
            # Write-behind: the disk starts on what has arrived while the rest is still coming, so
            # the commit's fsync waits only for the tail (Linux starts writeback of dirty pages on
            # DONTNEED without waiting for it).
            self.fh.flush()
            os.posix_fadvise(self.fh.fileno(), self.kicked, self.written - self.kicked, os.POSIX_FADV_DONTNEED)
            self.kicked = self.written

    async def commit(self) -> None:
        def finish() -> None:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            if hasattr(os, "posix_fadvise"):
                # Safe on disk now: its pages leave the cache. Left there, they made every later
                # upload's writes 5-8x slower on these machines (30 ms vs 4 ms per 10 MiB of new
                # file, measured), the most of an upload's time; a download reads them back.
                os.posix_fadvise(self.fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            self.fh.close()
            self.final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.temp, self.final)
            dir_fd = os.open(self.final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

        await asyncio.to_thread(finish)

    async def abort(self) -> None:
        self.fh.close()
        self.temp.unlink(missing_ok=True)


class LocalStorage:
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    async def writer(self, key: str) -> LocalWriter:
        return LocalWriter(self.path(key), self.tmp / f"{key}.part")

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        with open(self.path(key), "rb") as fh:
            fh.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                chunk = fh.read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining))
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    async def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
        (self.tmp / f"{key}.part").unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return self.path(key).exists()

    async def close(self) -> None:
        return None


# --- S3-compatible ---------------------------------------------------------------------------------


class S3Writer:
    def __init__(self, storage: S3Storage, key: str) -> None:
        self.s3 = storage
        self.key = key
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict] = []

    async def _flush_part(self) -> None:
        client = await self.s3.client()
        if self.upload_id is None:
            created = await client.create_multipart_upload(Bucket=self.s3.bucket, Key=self.key)
            self.upload_id = created["UploadId"]
        number = len(self.parts) + 1
        # hand the buffer itself over (no 5 MiB copy) and start a fresh one
        body, self.buffer = self.buffer, bytearray()
        resp = await client.upload_part(Bucket=self.s3.bucket, Key=self.key, UploadId=self.upload_id,
                                        PartNumber=number, Body=body)
        self.parts.append({"ETag": resp["ETag"], "PartNumber": number})

    async def write(self, chunk: bytes) -> None:
        self.buffer += chunk
        if len(self.buffer) >= S3_PART_SIZE:
            await self._flush_part()

    async def commit(self) -> None:
        client = await self.s3.client()
        if self.upload_id is None:
            body, self.buffer = self.buffer, bytearray()
            await client.put_object(Bucket=self.s3.bucket, Key=self.key, Body=body)
            return
        if self.buffer:
            await self._flush_part()
        await client.complete_multipart_upload(Bucket=self.s3.bucket, Key=self.key, UploadId=self.upload_id,
                                               MultipartUpload={"Parts": self.parts})

    async def abort(self) -> None:
        self.buffer.clear()
        if self.upload_id is not None:
            client = await self.s3.client()
            await client.abort_multipart_upload(Bucket=self.s3.bucket, Key=self.key, UploadId=self.upload_id)


class S3Storage:
    kind = "s3"

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        self.bucket = parsed.netloc
        if not self.bucket:
            raise ValueError("storage URL needs a bucket: s3://bucket?endpoint=...")
        self.prefix = parsed.path.strip("/")
        self.endpoint = query.get("endpoint")
        self.region = query.get("region") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self._client: Any = None
        self._ctx: Any = None
        self._lock = asyncio.Lock()

    def full_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def client(self):
        # One client per process, made on first use: no per-request construction.
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    from aiobotocore.config import AioConfig
                    from aiobotocore.session import get_session

                    self._ctx = get_session().create_client(
                        "s3", endpoint_url=self.endpoint, region_name=self.region,
                        config=AioConfig(max_pool_connections=64, retries={"max_attempts": 3}))
                    self._client = await self._ctx.__aenter__()
        return self._client

    async def writer(self, key: str) -> S3Writer:
        return S3Writer(self, self.full_key(key))

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        client = await self.client()
        kwargs = {}
        if start or end is not None:
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end}"
        resp = await client.get_object(Bucket=self.bucket, Key=self.full_key(key), **kwargs)
        async with resp["Body"] as body:
            while True:
                chunk = await body.read(READ_CHUNK)
                if not chunk:
                    break
                yield chunk

    async def delete(self, key: str) -> None:
        client = await self.client()
        full = self.full_key(key)
        await client.delete_object(Bucket=self.bucket, Key=full)
        # a crash mid-upload leaves an unfinished multipart upload: abort it too
        uploads = await client.list_multipart_uploads(Bucket=self.bucket, Prefix=full)
        for upload in uploads.get("Uploads", []):
            if upload["Key"] == full:
                await client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload["UploadId"])

    async def exists(self, key: str) -> bool:
        client = await self.client()
        try:
            await client.head_object(Bucket=self.bucket, Key=self.full_key(key))
            return True
        except client.exceptions.ClientError:
            return False

    async def close(self) -> None:
        if self._ctx is not None:
            await self._ctx.__aexit__(None, None, None)
            self._client = self._ctx = None


def open_storage(url: str) -> LocalStorage | S3Storage:
    if url.startswith("file://"):
        return LocalStorage(Path(url[len("file://"):]))
    if url.startswith("s3://"):
        return S3Storage(url)
    raise ValueError(f"unsupported storage URL scheme: {url.split(':', 1)[0]} (use file:// or s3://)")
