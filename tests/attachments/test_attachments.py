"""SPEC §5 on both backends: seed 000 work-order files and seed 002 staged files."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import func, select, update

from gatehouse.attachments.models import Attachment, Blob, StagedAttachment
from gatehouse.attachments.service import purge_expired_staged
from gatehouse.kit.db import utcnow
from tests.attachments.conftest import (
    EXE,
    OLE2,
    PDF,
    PNG,
    docx_bytes,
    stored_objects,
    xlsx_bytes,
    zip_mentioning_content_types,
)
from tests.facility_access.conftest import request_for
from tests.factories import make_ticket


async def blob_count(db):  # type: ignore[no-untyped-def]
    async with db.read() as s:
        return (await s.execute(select(func.count()).select_from(Blob))).scalar()


async def upload_wo(backend, caller, wo, data, name="report.pdf", part="file", filename="ignored.bin"):  # type: ignore[no-untyped-def]
    return await backend.client.post("/v1/attachments", params={"requestId": wo, "file_name": name},
                                     files={part: (filename, data)}, headers=caller.headers)


async def test_a_file_of_many_chunks_keeps_its_hash_and_bytes(backend, factory, db):
    """Several MiB: the hash is taken on a thread in batches and the local writer starts the disk
    on each MiB as it arrives (upload.py, storage.py); the recorded hash and the bytes served back
    must be the file's own, whatever the batches and chunks."""
    import os

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    data = PDF + os.urandom(3 * 1024 * 1024 + 12345)
    r = await upload_wo(backend, caller, wo, data, name="big.pdf")
    assert r.status_code == 200, r.text
    assert r.json()["hash"] == hashlib.sha256(data).hexdigest()
    got = await backend.client.get(f"/v1/attachments/{wo}/file/{r.json()['id']}", headers=caller.headers)
    assert got.status_code == 200 and got.content == data


async def test_seed_000_upload_list_download(backend, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    r = await upload_wo(backend, caller, wo, PDF, name="img7871.pdf")
    assert r.status_code == 200, r.text
    body = r.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert body["contentType"] == "multipart/form-data" and body["filename"] == "img7871.pdf"
    assert body["hash"] == hashlib.sha256(PDF).hexdigest()
    assert body["createdBy"] == caller.name and body["ticketId"] == wo
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", body["createdOn"])
    r2 = await upload_wo(backend, caller, wo, PNG, name="GP-3602.PNG")
    assert r2.status_code == 200
    listed = (await backend.client.get(f"/v1/attachments/{wo}", headers=caller.headers)).json()
    assert [a["filename"] for a in listed] == ["img7871.pdf", "GP-3602.PNG"]
    assert "ticketId" not in listed[0]
    r = await backend.client.get(f"/v1/attachments/{wo}/file/{body['id']}", headers=caller.headers)
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("attachment;") and "img7871.pdf" in r.headers["content-disposition"]
    assert r.headers["etag"] == f'"{body["hash"]}"'
    r = await backend.client.get(f"/v1/attachments/{wo}/file/{body['id']}",
                                 headers={**caller.headers, "Range": "bytes=5-14"})
    assert r.status_code == 206 and r.content == PDF[5:15]
    assert r.headers["content-range"] == f"bytes 5-14/{len(PDF)}"
    r = await backend.client.get(f"/v1/attachments/{wo}/file/{body['id']}",
                                 headers={**caller.headers, "Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == PDF[-10:]
    r = await backend.client.get(f"/v1/attachments/{wo}/file/{body['id']}",
                                 headers={**caller.headers, "Range": f"bytes={len(PDF)}-"})
    assert r.status_code == 416 and r.json()["error"]["code"] == "RANGE_NOT_SATISFIABLE"
    r = await backend.client.get(f"/v1/attachments/{wo}/file/{body['id']}",
                                 headers={**caller.headers, "If-None-Match": f'"{body["hash"]}"'})
    assert r.status_code == 304 and r.content == b""


async def test_text_part_is_a_clear_400(backend, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    before = await blob_count(db)
    # what curl --form 'file="report.pdf"' sends: a text part
    r = await backend.client.post("/v1/attachments", params={"requestId": wo, "file_name": "report.pdf"},
                                  data={"file": "report.pdf"}, files={"other": ("x.txt", b"x")},
                                  headers=caller.headers)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["details"][0]["code"] == "NOT_A_FILE" and "file=@" in err["details"][0]["message"]
    assert await blob_count(db) == before


async def test_too_large_is_413_and_leaves_nothing(backend, factory, db, settings):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    before, objects_before = await blob_count(db), await stored_objects(backend.storage)
    # 11 MB with a Content-Length that cannot fit: refused at once
    big = b"%PDF-" + b"0" * (11 * 1024 * 1024)
    r = await upload_wo(backend, caller, wo, big)
    assert r.status_code == 413 and r.json()["error"]["type"] == "client"
    assert r.json()["error"]["code"] == "FILE_TOO_LARGE"
    # one byte over, with an honest Content-Length that passes the early check: stopped while streaming
    r = await upload_wo(backend, caller, wo, b"%PDF-" + b"0" * (settings.max_upload_bytes - 4))
    assert r.status_code == 413 and r.json()["error"]["code"] == "FILE_TOO_LARGE"
    # exactly at the limit is fine
    r = await upload_wo(backend, caller, wo, b"%PDF-" + b"0" * (settings.max_upload_bytes - 5))
    assert r.status_code == 200, r.text
    ok_id = r.json()["id"]

    # streamed without Content-Length (chunked): the cap applies while reading
    boundary = "gatehouseboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()

    async def body():  # type: ignore[no-untyped-def]
        yield head + b"%PDF-"
        for _ in range(12):
            yield b"0" * (1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await backend.client.post("/v1/attachments", params={"requestId": wo, "file_name": "a.pdf"}, content=body(),
                                  headers={**caller.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413
    assert await blob_count(db) == before + 1
    listed = (await backend.client.get(f"/v1/attachments/{wo}", headers=caller.headers)).json()
    assert [a["id"] for a in listed] == [ok_id]
    objects, unfinished = await stored_objects(backend.storage)
    assert (objects, unfinished) == (objects_before[0] + 1, 0)


async def test_type_checks(backend, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    before = await blob_count(db)
    cases = [("setup.pdf", EXE, 415), ("notes.exe", EXE, 415), ("noext", EXE, 415), ("doc.docx", docx_bytes(False), 415),
             ("t.txt", b"hello\x00world", 415), ("t.txt", b"\xff\xfe bad utf8", 415), ("x.png", PDF, 415),
             ("sly.docx", zip_mentioning_content_types(), 415), ("sheet.xlsx", OLE2, 415), ("legacy.xls", PDF, 415),
             ("t.txt", "caf\u00e9".encode()[:-1], 415), ("sheet.csv", b"a,b\n\x00", 415)]
    objects_before = await stored_objects(backend.storage)
    for name, data, status in cases:
        r = await upload_wo(backend, caller, wo, data, name=name)
        assert r.status_code == status, (name, r.text)
        assert r.json()["error"]["type"] == "client"
    assert await blob_count(db) == before
    assert await stored_objects(backend.storage) == objects_before
    for name, data in (("memo.docx", docx_bytes()), ("book.XLSX", xlsx_bytes()), ("legacy.DOC", OLE2),
                       ("old.xls", OLE2), ("drawing.vsd", OLE2), ("sheet.csv", b"a,b\n1,2\n"),
                       ("notes.txt", "h\u00e9llo".encode()), ("scan.jpeg", b"\xff\xd8\xff\xe0" + b"0" * 50)):
        r = await upload_wo(backend, caller, wo, data, name=name)
        assert r.status_code == 200, (name, r.text)
    r = await upload_wo(backend, caller, wo, PDF, name="../../etc/pass\x07wd.pdf")
    assert r.status_code == 200 and r.json()["filename"] == "passwd.pdf"


async def test_work_order_rules_and_isolation(backend, factory, db):
    tenant = await factory.tenant()
    other = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    intruder = next(iter(other.users.values()))
    wo = await make_ticket(db, tenant)
    att = (await upload_wo(backend, caller, wo, PDF)).json()
    for status in ("Completed", "Cancelled", "Approval Denied"):
        closed = await make_ticket(db, tenant, status=status)
        assert (await upload_wo(backend, caller, closed, PDF)).status_code == 409
    r = await upload_wo(backend, intruder, wo, PDF)
    assert r.status_code == 404 and r.json()["error"]["code"] == "REQUEST_ID_INVALID"
    assert (await backend.client.get(f"/v1/attachments/{wo}", headers=intruder.headers)).status_code == 404
    r = await backend.client.get(f"/v1/attachments/{wo}/file/{att['id']}", headers=intruder.headers)
    assert r.status_code == 404
    foreign_wo = await make_ticket(db, other)
    r = await backend.client.get(f"/v1/attachments/{foreign_wo}/file/{att['id']}", headers=intruder.headers)
    assert r.status_code == 404
    for path in ("/v1/attachments/nonsense", "/v1/attachments/WO123", "/v1/attachments/file"):
        assert (await backend.client.get(path, headers=caller.headers)).status_code == 404
    reader = await factory.user(tenant, perms=["tickets:read"])
    assert (await upload_wo(backend, reader, wo, PDF)).status_code == 403
    r = await backend.client.post("/v1/attachments", params={"requestId": wo}, files={"file": ("a", PDF)},
                                  headers=caller.headers)
    assert r.status_code == 400  # file_name is required


async def test_staged_lifecycle(backend, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    colleague = await factory.user(tenant, perms=["attachments:write", "tickets:read"])
    data = docx_bytes()
    r = await backend.client.post("/v1/attachments/file", params={"purpose": "LOA"},
                                  files={"uploadFile": ("letter_of_authorization294850.docx", data)},
                                  headers=caller.token_headers)
    assert r.status_code == 201, r.text
    meta = r.json()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", meta["attachmentId"])
    assert meta["attachmentName"] == "letter_of_authorization294850.docx"
    assert meta["attachmentType"] == "docx" and meta["attachmentSize"] == len(data)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", meta["createdDate"])
    assert meta["createdBy"] == caller.name
    sid = meta["attachmentId"]
    assert (await backend.client.get(f"/v1/attachments/{sid}", headers=caller.token_headers)).json() == meta
    r = await backend.client.get(f"/v1/attachments/{sid}/file", headers=caller.token_headers)
    assert r.status_code == 200 and r.content == data
    for method, path in (("GET", f"/v1/attachments/{sid}"), ("GET", f"/v1/attachments/{sid}/file"),
                         ("DELETE", f"/v1/attachments/{sid}")):
        r = await backend.client.request(method, path, headers=colleague.token_headers)
        assert r.status_code == 404, (method, path)
    r = await backend.client.post("/v1/attachments/file", files={"file": ("scan.png", PNG)},
                                  headers=caller.token_headers)
    assert r.status_code == 201  # `file` is accepted too; purpose optional
    r = await backend.client.post("/v1/attachments/file", params={"purpose": "OTHER"},
                                  files={"uploadFile": ("a.png", PNG)}, headers=caller.token_headers)
    assert r.status_code == 400
    r = await backend.client.post("/v1/attachments/file", files={"uploadFile": ("a.csv", b"a,b")},
                                  headers=caller.token_headers)
    assert r.status_code == 415  # csv only on work orders
    r = await backend.client.delete(f"/v1/attachments/{sid}", headers=caller.token_headers)
    assert r.status_code == 200 and r.json() == {"status": True}
    assert (await backend.client.get(f"/v1/attachments/{sid}", headers=caller.token_headers)).status_code == 404


async def test_staged_link_expiry_and_purge(backend, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    other_user = await factory.user(tenant, perms=["visitor-access:request", "attachments:write", "tickets:read"])
    up = (await backend.client.post("/v1/attachments/file", files={"uploadFile": ("loa.pdf", PDF)},
                                    headers=caller.token_headers)).json()
    theirs = (await backend.client.post("/v1/attachments/file", files={"uploadFile": ("x.pdf", PDF)},
                                        headers=other_user.token_headers)).json()
    body = request_for(tenant, visitors=2, attachments=[{"id": up["attachmentId"], "name": "renamed.pdf"}])
    r = await backend.client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 200, r.text
    wos = [w["workOrderId"] for w in r.json()["workOrder"]]
    files = []
    for wo in wos:
        listed = (await backend.client.get(f"/v1/attachments/{wo}", headers=caller.headers)).json()
        assert [a["filename"] for a in listed] == ["loa.pdf"]  # the original name, a new id per work order
        files.append(listed[0]["id"])
    assert len(set(files)) == 2 and up["attachmentId"].replace("-", "") not in files
    bad = request_for(tenant, attachments=[{"id": theirs["attachmentId"], "name": "x.pdf"},
                                            {"id": "00000000-0000-0000-0000-000000000000", "name": "y"}])
    r = await backend.client.post("/v1/facility-access/visitors/access-requests", json=[bad], headers=caller.headers)
    assert r.status_code == 400
    assert [d["field"] for d in r.json()["error"]["details"]] == ["[0].attachments[0].id", "[0].attachments[1].id"]
    # expiry: 40 days on; gone for every call, purged, and the linked copies outlive it
    async with db.write() as s:
        await s.execute(update(StagedAttachment).where(StagedAttachment.id == up["attachmentId"])
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await backend.client.get(f"/v1/attachments/{up['attachmentId']}",
                                      headers=caller.token_headers)).status_code == 404
    r = await backend.client.post("/v1/facility-access/visitors/access-requests",
                                  json=[request_for(tenant, attachments=[{"id": up["attachmentId"], "name": "a"}])],
                                  headers=caller.headers)
    assert r.status_code == 400
    assert await purge_expired_staged(db, backend.storage) >= 1
    async with db.read() as s:
        assert await s.get(StagedAttachment, up["attachmentId"]) is None
    r = await backend.client.get(f"/v1/attachments/{wos[0]}/file/{files[0]}", headers=caller.headers)
    assert r.status_code == 200 and r.content == PDF


async def test_deleting_staged_removes_unlinked_blob(backend, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    up = (await backend.client.post("/v1/attachments/file", files={"uploadFile": ("a.pdf", PDF)},
                                    headers=caller.token_headers)).json()
    async with db.read() as s:
        blob = (await s.execute(select(Blob).join(StagedAttachment, StagedAttachment.blob_id == Blob.id)
                                .where(StagedAttachment.id == up["attachmentId"]))).scalar_one()
    assert await backend.storage.exists(blob.storage_key)
    await backend.client.delete(f"/v1/attachments/{up['attachmentId']}", headers=caller.token_headers)
    assert not await backend.storage.exists(blob.storage_key)
    async with db.read() as s:
        assert await s.get(Blob, blob.id) is None
        assert (await s.execute(select(func.count()).select_from(Attachment)
                                .where(Attachment.blob_id == blob.id))).scalar() == 0


async def test_a_file_name_without_an_extension_takes_its_type_from_the_content(backend, factory, db):
    """The real API took `file_name=test` (SPEC §5): the name is kept as given, the type comes from the
    content alone; content that is none of the allowed types is still 415 and leaves nothing."""
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    for data, media in ((PDF, "application/pdf"), (PNG, "image/png"), (b"BMW service report\n", "text/plain"),
                        (docx_bytes(), "application/octet-stream")):
        r = await upload_wo(backend, caller, wo, data, name="test")
        assert r.status_code == 200, r.text
        assert r.json()["filename"] == "test"
        got = await backend.client.get(f"/v1/attachments/{wo}/file/{r.json()['id']}", headers=caller.headers)
        assert got.content == data and got.headers["content-type"].split(";")[0] == media
    before = await blob_count(db)
    for data in (EXE, b"\x00\x01binary"):
        r = await upload_wo(backend, caller, wo, data, name="test")
        assert r.status_code == 415 and r.json()["error"]["code"] == "FILE_CONTENT_MISMATCH", r.text
        assert "no extension" in r.json()["error"]["message"]
    assert await blob_count(db) == before
    r = await upload_wo(backend, caller, wo, PDF, name="test.exe")  # an extension that is not allowed: as before
    assert r.status_code == 415 and r.json()["error"]["code"] == "FILE_TYPE_NOT_ALLOWED"
