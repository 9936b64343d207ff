"""Issue 20: what a hostile receiver or a quick owner could do to deliveries. A receiver answering
with an endless body costs the worker at most 1 KiB; the allow-private switch lets private and
loopback targets through and nothing else; a rotation or a PATCH applies to the very next delivery."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from standardwebhooks.webhooks import Webhook

from tests.webhooks.test_webhooks import _hook, _until, deliverer  # noqa: F401  (fixture)


class EndlessBody:
    """Answers 200 with a 1 GB Content-Length and writes as fast as the client reads; counts bytes."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sent = 0
        self.closed_by_peer = threading.Event()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        conn.settimeout(30)
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1073741824\r\n\r\n")
        chunk = b"x" * 65536
        try:
            while self.sent < 1 << 30:
                conn.sendall(chunk)
                self.sent += len(chunk)
        except OSError:
            self.closed_by_peer.set()
        finally:
            conn.close()


async def _deliveries(client, caller, hook_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    r = await client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=caller.headers)
    return [d for d in r.json()["content"] if d["attemptedAt"]]


async def test_an_endless_response_body_is_cut_at_1_kib_and_the_connection_closed(client, factory, deliverer):  # noqa: F811
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    rx = EndlessBody()
    hook = await _hook(client, caller, rx.url)
    started = time.monotonic()
    assert (await client.post(f"/v1/webhooks/{hook['webhookId']}/test", headers=caller.headers)).status_code == 202
    log: list[dict] = []
    # (the worker may first have other tests' backlog to deliver: the wait is generous, the attempt's
    # own time is what is bounded)
    while time.monotonic() - started < 30 and not log:
        log = await _deliveries(client, caller, hook["webhookId"])
        await asyncio.sleep(0.05)
    assert log and log[0]["status"] == "delivered" and log[0]["responseStatus"] == 200, log
    assert log[0]["durationMs"] < 5000, log
    assert await asyncio.to_thread(rx.closed_by_peer.wait, 10)
    # the worker stopped reading at once: what it took is what the socket buffers held, not a gigabyte
    assert rx.sent < 64 << 20, rx.sent


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "http://[::ffff:169.254.169.254]/",
                                 "http://[fe80::1]/", "http://224.0.0.1/", "http://240.0.0.1/", "http://0.0.0.0/",
                                 "http://[ff02::1]/", "http://100.64.0.1/"])
async def test_allow_private_allows_private_and_loopback_only(client, factory, settings, url):  # type: ignore[no-untyped-def]
    assert settings.webhook_allow_private
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    r = await client.post("/v1/webhooks", json={"url": url, "eventTypes": ["*"]}, headers=caller.headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "url", r.text
    for ok in ("http://127.0.0.1:9/x", "http://10.0.0.5/x", "http://[::1]:9/x", "http://192.168.1.1/"):
        r = await client.post("/v1/webhooks", json={"url": ok, "eventTypes": ["*"]}, headers=caller.headers)
        assert r.status_code == 201, (ok, r.text)
        await client.delete(f"/v1/webhooks/{r.json()['webhookId']}", headers=caller.headers)


async def test_rotation_and_patch_apply_to_the_very_next_delivery(client, factory, receivers, deliverer):  # noqa: F811
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    rx, other = receivers(), receivers()
    hook = await _hook(client, caller, rx.url)
    wid = hook["webhookId"]
    assert (await client.post(f"/v1/webhooks/{wid}/test", headers=caller.headers)).status_code == 202
    await _until(lambda: len(rx.got) == 1)  # the worker has read the endpoint once
    new_secret = (await client.post(f"/v1/webhooks/{wid}/rotate-secret", headers=caller.headers)).json()["secret"]
    assert (await client.post(f"/v1/webhooks/{wid}/test", headers=caller.headers)).status_code == 202
    await _until(lambda: len(rx.got) == 2)
    headers, body, _t = rx.got[1]
    Webhook(new_secret).verify(body, headers)  # signed with the new secret, not only the old one
    r = await client.patch(f"/v1/webhooks/{wid}", json={"url": other.url}, headers=caller.headers)
    assert r.status_code == 200, r.text
    assert (await client.post(f"/v1/webhooks/{wid}/test", headers=caller.headers)).status_code == 202
    await _until(lambda: len(other.got) == 1)
    assert len(rx.got) == 2


class TlsListener:
    """An https receiver with a self-signed certificate for `localhost`: it records the server name
    each client hello carries (SNI) and serves nothing, since no verifying client gets further."""

    def __init__(self, folder) -> None:  # type: ignore[no-untyped-def]
        import ssl
        from datetime import UTC, datetime, timedelta

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
                .not_valid_after(now + timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                .sign(key, hashes.SHA256()))
        (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        self.names: list[str | None] = []
        self.context.sni_callback = lambda _sock, server_name, _ctx: self.names.append(server_name)
        # bound where `localhost` resolves first, which is the address the worker connects to
        family, _t, _p, _c, address = socket.getaddrinfo("localhost", 0, type=socket.SOCK_STREAM)[0]
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind(address[:2])
        self.sock.listen(8)
        self.url = f"https://localhost:{self.sock.getsockname()[1]}/hook"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except OSError:
                pass  # the client refused the certificate


async def test_https_sends_the_host_in_sni_and_refuses_a_certificate_it_cannot_verify(client, factory, deliverer,  # noqa: F811
                                                                                      tmp_path):
    """The worker connects to the address the SSRF guard checked, but TLS still names the host, and
    the certificate is verified against it: a self-signed one is a failed attempt, never a delivery."""
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    rx = TlsListener(tmp_path)
    hook = await _hook(client, caller, rx.url)
    assert (await client.post(f"/v1/webhooks/{hook['webhookId']}/test", headers=caller.headers)).status_code == 202
    started, log = time.monotonic(), []
    while time.monotonic() - started < 30 and not log:
        log = await _deliveries(client, caller, hook["webhookId"])
        await asyncio.sleep(0.05)
    assert log and log[0]["status"] != "delivered" and log[0]["responseStatus"] is None, log
    assert "certificate verify failed" in log[0]["error"], log
    assert rx.names and set(rx.names) == {"localhost"}, rx.names
