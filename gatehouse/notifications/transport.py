"""Where mail goes: a real SMTP server (aiosmtplib; STARTTLS, SMTPS, auth), or `.eml` files in the
data folder when no server is configured (the demo), so a newcomer can open what was sent."""

from __future__ import annotations

import asyncio
import os
import re
from email.message import Message
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import aiosmtplib

from gatehouse.worker.outbox import PermanentFailure, TemporaryFailure

TIMEOUT = 30.0


class SmtpTransport:
    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise ValueError("GATEHOUSE_SMTP_URL must look like smtp://user:pass@host:587?starttls=true or smtps://host:465")
        query = parse_qs(parsed.query)
        self.hostname = parsed.hostname
        self.use_tls = parsed.scheme == "smtps"
        self.port = parsed.port or (465 if self.use_tls else 25)
        self.start_tls = (query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")) and not self.use_tls
        self.username = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.validate_certs = query.get("verify", ["true"])[0].lower() not in ("0", "false", "no")

    def describe(self) -> str:
        return f"smtp{'s' if self.use_tls else ''}://{self.hostname}:{self.port}"

    async def send(self, message: Message) -> str:
        try:
            errors, reply = await aiosmtplib.send(
                message, hostname=self.hostname, port=self.port, username=self.username, password=self.password,
                use_tls=self.use_tls, start_tls=self.start_tls, timeout=TIMEOUT, validate_certs=self.validate_certs)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentFailure(f"refused: {text}", status=codes[0]) from None
            raise TemporaryFailure(f"refused: {text}", status=codes[0] if codes else None) from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentFailure(f"{exc.code} {exc.message}", status=exc.code) from None
            raise TemporaryFailure(f"{exc.code} {exc.message}", status=exc.code) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None
        for address, (code, text) in errors.items():  # some recipients refused (we send one per mail)
            if 500 <= code < 600:
                raise PermanentFailure(f"{address} refused: {code} {text}", status=code)
            raise TemporaryFailure(f"{address} refused: {code} {text}", status=code)
        return reply


class EmlDirTransport:
    """One file per mail, named by time, work order and kind; a retry rewrites the same file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def describe(self) -> str:
        return f".eml files in {self.folder}"

    async def send(self, message: Message) -> str:
        def write() -> str:
            self.folder.mkdir(parents=True, exist_ok=True)
            wo = re.sub(r"[^A-Za-z0-9]", "", message.get("X-Gatehouse-Work-Order", "mail"))
            kind = re.sub(r"[^a-z_]", "", message.get("X-Gatehouse-Mail", "mail"))
            to = re.sub(r"[^A-Za-z0-9@._-]", "_", str(message["To"]))[:80]
            mid = re.sub(r"[^A-Za-z0-9]", "", str(message["Message-ID"]))[:12]
            path = self.folder / f"{wo}-{kind}-{to}-{mid}.eml"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(bytes(message))
            os.replace(tmp, path)
            return str(path)

        return await asyncio.to_thread(write)


def open_transport(smtp_url: str, data_dir: Path) -> SmtpTransport | EmlDirTransport:
    return SmtpTransport(smtp_url) if smtp_url else EmlDirTransport((data_dir / "mail").resolve())
