"""What may be uploaded: the extension allow-list, and content that agrees with the extension."""

from __future__ import annotations

import codecs
import struct
import unicodedata

STAGED_EXTENSIONS = frozenset("bmp jpg jpeg gif png tif tiff txt doc docx xls xlsx ppt pps ppsx pdf vsd".split())
WORK_ORDER_EXTENSIONS = STAGED_EXTENSIONS | {"csv"}

MEDIA_TYPES = {
    "bmp": "image/bmp", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "png": "image/png",
    "tif": "image/tiff", "tiff": "image/tiff", "txt": "text/plain; charset=utf-8", "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf", "doc": "application/msword", "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint", "pps": "application/vnd.ms-powerpoint", "vsd": "application/vnd.visio",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppsx": "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
}

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "bmp": (b"BM",), "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",), "gif": (b"GIF87a", b"GIF89a"),
    "png": (b"\x89PNG\r\n\x1a\n",), "tif": (b"II*\x00", b"MM\x00*"), "tiff": (b"II*\x00", b"MM\x00*"),
    "pdf": (b"%PDF-",), "doc": (_OLE2,), "xls": (_OLE2,), "ppt": (_OLE2,), "pps": (_OLE2,), "vsd": (_OLE2,),
    "docx": (b"PK\x03\x04",), "xlsx": (b"PK\x03\x04",), "ppsx": (b"PK\x03\x04",),
}
_OOXML = frozenset({"docx", "xlsx", "ppsx"})
DETECT = ""  # the extension that means "tell the type from the content"
# what content alone cannot tell apart (doc/xls/ppt/pps/vsd; docx/xlsx/ppsx): served as bytes
OLE2, OOXML = "ole2", "ooxml"
_TEXT = frozenset({"txt", "csv"})
_CONTENT_TYPES = b"[Content_Types].xml"
_EOCD = b"PK\x05\x06"
_CDH = b"PK\x01\x02"
_EOCD_SPAN = 65_557  # the end-of-central-directory record lies within this many bytes of the end
_TAIL = 256 * 1024  # kept while streaming: the EOCD and, for any ordinary document, the whole central directory


def sanitize_name(raw: str, limit: int = 100) -> str:
    """Display name only: no path parts, no control characters, at most `limit` characters."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    name = name.strip()
    if name in (".", ".."):
        name = ""
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: limit - len(ext) - 1] + dot + ext) if dot and len(ext) < 10 else name[:limit]
    return name


def extension_of(name: str) -> str:
    _stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


class ContentSniffer:
    """Fed the file as it streams; decides at the end whether content agrees with the extension.
    Keeps only a few bytes of state (head, a short overlap, the ZIP tail)."""

    def __init__(self, extension: str | None = None) -> None:
        self.head = b""
        self.size = 0
        self.ok_text = True
        self.found_content_types = False
        self.overlap = b""
        self.tail = bytearray()
        self.ext = ""
        self.detect = False
        self.decoder: codecs.IncrementalDecoder | None = None
        if extension is not None:
            self.set_extension(extension)

    def set_extension(self, extension: str) -> None:
        """Staged uploads learn their extension from the part headers, before any content. "" (a
        work order's `file_name` without one, as the real API took) means: tell the type from the
        content alone (`agrees` then sets `ext` to what it found)."""
        self.ext = extension
        self.detect = extension == DETECT
        self.decoder = codecs.getincrementaldecoder("utf-8")() if extension in _TEXT or self.detect else None

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if len(self.head) < 16:
            self.head += chunk[: 16 - len(self.head)]
        if self.decoder is not None and self.ok_text:
            if b"\x00" in chunk:
                self.ok_text = False
            else:
                try:
                    self.decoder.decode(chunk)
                except UnicodeDecodeError:
                    self.ok_text = False
        if self.ext in _OOXML or (self.detect and self.head.startswith(b"PK")):
            if not self.found_content_types:
                window = self.overlap + chunk
                self.found_content_types = _CONTENT_TYPES in window
                self.overlap = window[-len(_CONTENT_TYPES):]
            self.tail += chunk
            if len(self.tail) > _TAIL:
                del self.tail[: len(self.tail) - _TAIL]

    def agrees(self) -> bool:
        if self.detect:
            found = self._detected()
            if found is None:
                return False
            self.ext, self.detect, self.decoder = found, False, None
            return True
        if self.decoder is not None:
            if self.ok_text:
                try:
                    self.decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    return False
            return self.ok_text
        signatures = _SIGNATURES.get(self.ext)
        if not signatures or not any(self.head.startswith(sig) for sig in signatures):
            return False
        if self.ext in _OOXML:
            return _zip_lists_content_types(self.tail, self.size, self.found_content_types)
        return True


    def _detected(self) -> str | None:
        """The type by content alone: strong signatures first, then UTF-8 text without NUL, then
        BMP (whose "BM" a text could start with)."""
        for ext in ("png", "jpg", "gif", "tif", "pdf"):
            if any(self.head.startswith(sig) for sig in _SIGNATURES[ext]):
                return ext
        if self.head.startswith(_OLE2):
            return OLE2
        if self.head.startswith(b"PK\x03\x04"):
            return OOXML if _zip_lists_content_types(self.tail, self.size, self.found_content_types) else None
        if self.ok_text:
            try:
                if self.decoder is not None:
                    self.decoder.decode(b"", final=True)
                return "txt"
            except UnicodeDecodeError:
                pass
        return "bmp" if self.head.startswith(b"BM") else None


def _zip_lists_content_types(tail: bytes | bytearray, size: int, seen_in_stream: bool) -> bool:
    """The ZIP's central directory (read from the kept tail) names `[Content_Types].xml`.
    A central directory larger than the kept tail (thousands of entries) or a ZIP64 archive falls
    back to the local headers seen while streaming."""
    pos = tail.rfind(_EOCD, max(0, len(tail) - _EOCD_SPAN))
    while pos >= 0 and pos + 22 > len(tail):
        pos = tail.rfind(_EOCD, 0, pos)
    if pos < 0:
        return False
    entries, cd_size, cd_offset = struct.unpack_from("<HII", tail, pos + 10)
    if 0xFFFFFFFF in (cd_size, cd_offset) or entries == 0xFFFF:
        return seen_in_stream  # ZIP64: not worth parsing for files of at most a few MiB
    tail_start = size - len(tail)
    start = cd_offset - tail_start
    if cd_offset + cd_size > size - (len(tail) - pos) or start + cd_size > pos:
        return False  # the central directory does not fit before its end record: not a sound ZIP
    if start < 0:
        return seen_in_stream
    at = start
    for _ in range(entries):
        if at + 46 > pos or tail[at:at + 4] != _CDH:
            return False
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", tail, at + 28)
        if bytes(tail[at + 46:at + 46 + name_len]) == _CONTENT_TYPES:
            return True
        at += 46 + name_len + extra_len + comment_len
    return False
