"""Every attachment test runs on both backends: local files, and S3 through moto in server mode
(real HTTP on loopback), each behind its own app instance sharing the test database."""

from __future__ import annotations


import io
import os
import zipfile
from dataclasses import dataclass

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gatehouse.app import create_app
from gatehouse.config import Settings
from tests.net import free_port



@pytest.fixture(scope="session")
def moto_endpoint():  # type: ignore[no-untyped-def]
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="gatehouse-test")
    yield endpoint
    server.stop()


@dataclass
class Backend:
    name: str
    client: httpx.AsyncClient
    app: object

    @property
    def storage(self):  # type: ignore[no-untyped-def]
        return self.app.state.storage  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def s3_settings(settings: Settings, moto_endpoint) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(**{**settings.model_dump(), "storage_url": f"s3://gatehouse-test?endpoint={moto_endpoint}"})


@pytest.fixture(scope="session")
async def s3_backend(s3_settings: Settings):  # type: ignore[no-untyped-def]
    app = create_app(s3_settings)
    async with LifespanManager(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s3.test") as c:
            yield Backend("s3", c, app)


@pytest.fixture(params=["local", "s3"])
def backend(request):  # type: ignore[no-untyped-def]
    # sync on purpose: it picks the (async, session-scoped) backend lazily, outside the loop
    if request.param == "local":
        return Backend("local", request.getfixturevalue("client"), request.getfixturevalue("app"))
    return request.getfixturevalue("s3_backend")


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
EXE = b"MZ\x90\x00\x03" + b"\x00" * 500


async def stored_objects(storage) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(finished objects, unfinished writes) in a backend: temp files, or open S3 multipart uploads."""
    if storage.kind == "local":
        files = [p for p in storage.root.rglob("*") if p.is_file()]
        unfinished = [p for p in files if p.parent == storage.tmp]
        return len(files) - len(unfinished), len(unfinished)
    client = await storage.client()
    objects = 0
    async for page in client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket):
        objects += len(page.get("Contents", []))
    uploads = await client.list_multipart_uploads(Bucket=storage.bucket)
    return objects, len(uploads.get("Uploads", []))


def xlsx_bytes() -> bytes:
    """A minimal but real SpreadsheetML workbook, as Excel writes it (deflated parts)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                   '2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        z.writestr("_rels/.rels", "<Relationships/>")
        z.writestr("xl/workbook.xml", "<workbook><sheets><sheet name=\"S\" sheetId=\"1\"/></sheets></workbook>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData/></worksheet>")
    return buf.getvalue()


def zip_mentioning_content_types() -> bytes:
    """A ZIP whose data contains the words `[Content_Types].xml` but which has no such entry."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("readme.txt", "see [Content_Types].xml")
    return buf.getvalue()


def docx_bytes(with_content_types: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if with_content_types:
            z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>" * 50)
    return buf.getvalue()
