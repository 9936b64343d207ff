"""Printed badges (SPEC §14): a 102 × 76 mm label, or an A4 sheet of six, for a checked-in visitor —
name, company, site, the access window in site time (zone named), the desk's photo, an ESCORT
REQUIRED band for escorted visitors, and a QR code of the work order id that the desk's scanner reads. Built with
fpdf2; text in DejaVu Sans where the system has it (every script a name may use), else Helvetica
with what Latin-1 cannot hold shown as "?"."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import segno
from fpdf import FPDF

from gatehouse.kit.sitetime import window_text

LABEL_W, LABEL_H = 102.0, 76.0  # mm
A4_W, A4_H = 210.0, 297.0
_FONTS = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
          Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")]


def _qr(text: str) -> io.BytesIO:
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="png", scale=10, border=2)
    out.seek(0)
    return out


class _Badges(FPDF):
    def __init__(self, page: tuple[float, float]) -> None:
        super().__init__(unit="mm", format=page)
        self.set_auto_page_break(False)
        self.set_margin(0)
        self.unicode = all(p.exists() for p in _FONTS)
        if self.unicode:
            self.add_font("Badge", "", str(_FONTS[0]))
            self.add_font("Badge", "B", str(_FONTS[1]))
        self.family = "Badge" if self.unicode else "Helvetica"

    def text_of(self, value: str) -> str:
        if self.unicode:
            return value
        plain = unicodedata.normalize("NFKD", value)
        plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
        return plain.encode("latin-1", "replace").decode("latin-1")

    def label(self, x: float, y: float, t: dict, tz: str, photo: bytes | None = None) -> None:
        self.set_draw_color(160, 160, 160)
        self.rect(x, y, LABEL_W, LABEL_H)
        escorted = t["visitorType"] == "Escorted visitor"
        top = y + 4
        self.set_text_color(30, 30, 30)
        self.set_font(self.family, "B", 8)
        self.set_xy(x + 4, top)
        self.cell(60, 4, self.text_of(f"VISITOR · {t['site'][0]['site']}"))
        self.set_font(self.family, "B", 17)
        self.set_xy(x + 4, top + 6)
        self.multi_cell(62, 7.5, self.text_of(f"{t['contactFirstName']} {t['contactLastName']}"), max_line_height=7.5)
        self.set_font(self.family, "", 10)
        self.set_x(x + 4)
        self.multi_cell(62, 5, self.text_of(t["representingCompany"]))
        self.set_font(self.family, "", 7.5)
        self.set_x(x + 4)
        window = "; ".join(f"{loc['location']}: {window_text(loc, tz)}" for s in t["site"] for loc in s["locations"])
        self.multi_cell(62, 3.6, self.text_of(window))
        self.set_x(x + 4)
        if t.get("badgeNumber"):
            self.multi_cell(62, 3.6, self.text_of(f"Badge {t['badgeNumber']} · {t['ticketId']}"))
        self.image(_qr(t["ticketId"]), x=x + LABEL_W - 32, y=top, w=28, h=28)
        if photo:  # the desk's photo under the QR, its proportions kept
            self.image(io.BytesIO(photo), x=x + LABEL_W - 32, y=top + 30, w=28, h=26, keep_aspect_ratio=True)
        if escorted:  # the band a guard sees from across the room
            self.set_fill_color(200, 30, 30)
            self.rect(x, y + LABEL_H - 14, LABEL_W, 14, style="F")
            self.set_text_color(255, 255, 255)
            self.set_font(self.family, "B", 14)
            self.set_xy(x, y + LABEL_H - 12)
            self.cell(LABEL_W, 6, "ESCORT REQUIRED", align="C")
            self.set_font(self.family, "", 8)
            self.set_xy(x, y + LABEL_H - 6)
            self.cell(LABEL_W, 4, self.text_of(f"Escort: {t['escortFirstName']} {t['escortLastName']}"), align="C")


def badge_label(t: dict, tz: str, photo: bytes | None = None) -> bytes:
    pdf = _Badges((LABEL_W, LABEL_H))
    pdf.add_page()
    pdf.label(0, 0, t, tz, photo)
    return bytes(pdf.output())


def badge_sheet(tickets: list[dict], tz: str, photos: dict[str, bytes] | None = None) -> bytes:
    """Six labels per A4 page (two across, three down), centred."""
    pdf = _Badges((A4_W, A4_H))
    left, top = (A4_W - 2 * LABEL_W) / 2, (A4_H - 3 * LABEL_H) / 2
    for i, t in enumerate(tickets):
        if i % 6 == 0:
            pdf.add_page()
        col, row = i % 2, (i % 6) // 2
        pdf.label(left + col * LABEL_W, top + row * LABEL_H, t, tz, (photos or {}).get(t["ticketId"]))
    return bytes(pdf.output())
