"""The roll call as a PDF (SPEC §14): an A4 list a guard takes to the muster point — everyone on
site when it was printed, with a box to tick, in site time with the zone named. fpdf2's table, the
badges' fonts (DejaVu Sans where the system has it)."""

from __future__ import annotations

from fpdf.fonts import FontFace

from gatehouse.operators.badge_pdf import A4_H, A4_W, _Badges

HEADINGS = ("✓", "Name", "Company", "Escort", "Where", "In since")
WIDTHS = (8, 42, 36, 30, 40, 26)  # mm, 182 in all inside 14 mm margins


def roll_call_pdf(site: str, printed_at: str, timezone: str, people: list[dict]) -> bytes:
    pdf = _Badges((A4_W, A4_H))
    pdf.set_margin(14)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 16)
    pdf.cell(0, 9, pdf.text_of(f"Roll call · {site}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family, "", 9)
    accounted = sum(1 for p in people if p["accountedFor"])
    pdf.cell(0, 5, pdf.text_of(f"Printed {printed_at} ({timezone}) · {len(people)} on site · {accounted} accounted "
                               f"for when printed"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    if not people:
        pdf.cell(0, 6, pdf.text_of(f"No one is checked in at {site}."))
        return bytes(pdf.output())
    tick = "✓" if pdf.unicode else "x"
    with pdf.table(col_widths=WIDTHS, headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
                   line_height=5.5, text_align="LEFT", width=sum(WIDTHS)) as table:
        table.row([h if h != "✓" else tick for h in HEADINGS])
        for p in people:
            table.row([tick if p["accountedFor"] else "", pdf.text_of(p["name"]), pdf.text_of(p["company"]),
                       pdf.text_of(p["escort"] or "-"), pdf.text_of(", ".join(p["locations"])),
                       p["checkInTime"][11:16] if p["checkInTime"][:10] == printed_at[:10] else p["checkInTime"][:16]])
    return bytes(pdf.output())
