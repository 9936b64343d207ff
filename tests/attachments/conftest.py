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
async def s3_backend(settings: Settings, moto_endpoint):  # type: ignore[no-untyped-def]
    s3_settings = Settings(**{**settings.model_dump(), "storage_url": f"s3://gatehouse-test?endpoint={moto_endpoint}"})
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


def docx_bytes(with_content_types: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if with_content_types:
            z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>" * 50)
    return buf.getvalue()
