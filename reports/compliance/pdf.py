"""The dossier as a print-ready PDF (A4, numbered pages, contents with page numbers, bookmarks),
laid out with ReportLab's platypus from the same `Document` as the HTML file.

Why ReportLab: pure pip wheels with no system libraries (WeasyPrint needs Pango on every machine,
printing through Chromium needs a browser), a long-maintained layout engine (flowing paragraphs,
tables that split across pages with repeated headers), and standard PDFs any viewer opens. Text
is set in DejaVu Sans, embedded from matplotlib's bundled fonts, so any Unicode a reason or a
note holds prints (ReportLab's built-in fonts cover Latin-1 only).
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (BaseDocTemplate, CondPageBreak, Frame, Image, ListFlowable, ListItem, PageTemplate, Paragraph,
                                Spacer, TableStyle)
from reportlab.platypus import Table as PdfTable
from reportlab.platypus.flowables import Flowable
from reportlab.platypus.tableofcontents import TableOfContents

from reports.compliance.document import Block, Bullets, Document, Facts, Figure, Heading, Paragraph as Para, Table

MARGIN = 16 * mm
HEADING_ROOM, SECTION_ROOM = 30 * mm, 45 * mm  # what must be left on a page to start a heading there
FONT, BOLD, MONO = "DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono"
TONES = {"note": colors.HexColor("#555555"), "good": colors.HexColor("#1f6f1f"), "bad": colors.HexColor("#a31515")}
BACKGROUNDS = {"good": colors.HexColor("#f1faf1"), "bad": colors.HexColor("#fdf1f1")}


@lru_cache(maxsize=1)
def _register_fonts() -> None:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name in (FONT, BOLD, MONO):
        pdfmetrics.registerFont(TTFont(name, str(folder / f"{name}.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    _register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12.5, spaceAfter=5)
    return {
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=19, leading=23, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=body, textColor=TONES["note"], spaceAfter=10),
        "h2": ParagraphStyle("h2", parent=body, fontName=BOLD, fontSize=14, leading=18, spaceBefore=12,
                             spaceAfter=6, textColor=colors.HexColor("#1a2a4a")),
        "h3": ParagraphStyle("h3", parent=body, fontName=BOLD, fontSize=10.5, leading=14, spaceBefore=8,
                             spaceAfter=3),
        "body": body,
        "note": ParagraphStyle("note", parent=body, textColor=TONES["note"]),
        "good": ParagraphStyle("good", parent=body, textColor=TONES["good"], backColor=BACKGROUNDS["good"],
                               borderPadding=(3, 5, 3, 5), spaceBefore=3, spaceAfter=8),
        "bad": ParagraphStyle("bad", parent=body, fontName=BOLD, textColor=TONES["bad"],
                              backColor=BACKGROUNDS["bad"], borderPadding=(3, 5, 3, 5), spaceBefore=3, spaceAfter=8),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.5, spaceAfter=0),
        "head": ParagraphStyle("head", parent=body, fontName=BOLD, fontSize=7.5, leading=9.5, spaceAfter=0),
        "label": ParagraphStyle("label", parent=body, fontSize=8, leading=10, spaceAfter=0, textColor=TONES["note"]),
        "mono": ParagraphStyle("mono", parent=body, fontName=MONO, fontSize=7.5, leading=10, spaceAfter=0),
        "caption": ParagraphStyle("caption", parent=body, fontSize=7.5, leading=9.5, textColor=TONES["note"]),
        "toc": ParagraphStyle("toc", parent=body, fontSize=9.5, leading=13),
    }


def _text(value: str) -> str:
    return escape(value)


def _numbered_canvas(footer: str) -> type[Canvas]:
    """A canvas that holds its pages until the end, then stamps 'Page N of M' and the footer on each."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - ReportLab's name
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for state in self._held:
                self.__dict__.update(state)
                self.setFont(FONT, 7.5)
                self.setFillColor(TONES["note"])
                self.drawString(MARGIN, 9 * mm, footer)
                self.drawRightString(A4[0] - MARGIN, 9 * mm, f"Page {self._pageNumber} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


class _DossierTemplate(BaseDocTemplate):
    """A4 with one frame; every section heading becomes a contents line and a PDF bookmark."""

    def __init__(self, target: Any, title: str) -> None:
        super().__init__(target, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                         bottomMargin=MARGIN + 4 * mm, title=title, author="mllm-audit", subject="Compliance dossier")
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="main")
        self.addPageTemplates([PageTemplate(id="page", frames=[frame])])

    def afterFlowable(self, flowable: Flowable) -> None:  # noqa: N802 - ReportLab's name
        if isinstance(flowable, Paragraph) and flowable.style.name == "h2":
            text = flowable.getPlainText()
            key = f"section-{self.seq.nextf('sections')}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(text, key, level=0)
            self.notify("TOCEntry", (0, text, self.page, key))


def _table(block: Table, width: float) -> list[Flowable]:
    styles = _styles()
    weights = block.widths or tuple(1.0 for _ in block.headers)
    col_widths = [width * w / sum(weights) for w in weights]
    data = [[Paragraph(_text(h), styles["head"]) for h in block.headers]]
    data += [[Paragraph(_text(c), styles["cell"]) for c in row] for row in block.rows]
    table = PdfTable(data, colWidths=col_widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b8bccb")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef0f6")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f8f9fc")]),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    out: list[Flowable] = [table]
    if block.caption:
        out.append(Paragraph(_text(block.caption), styles["caption"]))
    out.append(Spacer(1, 6))
    return out


def _facts(block: Facts, width: float) -> list[Flowable]:
    styles = _styles()
    rows = [[Paragraph(_text(k), styles["label"]), Paragraph(_text(v), styles["mono"])] for k, v in block.pairs]
    table = PdfTable(rows, colWidths=[0.26 * width, 0.74 * width], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#e2e4ec"))]))
    return [table, Spacer(1, 6)]


def _figure(block: Figure, width: float) -> list[Flowable]:
    image = Image(io.BytesIO(block.png))
    scale = min(1.0, width / image.imageWidth)
    image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
    if image.drawWidth > width * 0.92:
        ratio = width * 0.92 / image.drawWidth
        image.drawWidth, image.drawHeight = image.drawWidth * ratio, image.drawHeight * ratio
    return [image, Paragraph(_text(block.caption), _styles()["caption"])]


def _flowables(block: Block, width: float) -> list[Flowable]:
    styles = _styles()
    if isinstance(block, Para):
        return [Paragraph(_text(block.text), styles[block.tone])]
    if isinstance(block, Heading):  # a new page when less than a few lines are left (no lone headings)
        return [CondPageBreak(HEADING_ROOM), Paragraph(_text(block.text), styles["h3"])]
    if isinstance(block, Bullets):
        items = [ListItem(Paragraph(_text(item), styles["body"]), leftIndent=12) for item in block.items]
        return [ListFlowable(items, bulletType="bullet", start="\u2022", leftIndent=12, bulletFontName=FONT)]
    if isinstance(block, Facts):
        return _facts(block, width)
    if isinstance(block, Table):
        return _table(block, width)
    if isinstance(block, Figure):
        return _figure(block, width)
    raise TypeError(f"unknown block {type(block).__name__}")


def render_pdf(document: Document, footer: str) -> bytes:
    """The document as PDF bytes (two layout passes: the contents need the page numbers)."""
    styles = _styles()
    buffer = io.BytesIO()
    doc = _DossierTemplate(buffer, document.title)
    contents = TableOfContents(levelStyles=[styles["toc"]], dotsMinLevel=0)
    story: list[Flowable] = [Paragraph(_text(document.title), styles["title"]),
                             Paragraph(_text(document.subtitle), styles["subtitle"]),
                             Paragraph("Contents", styles["h3"]), contents, Spacer(1, 8)]
    headings = []
    for number, section in enumerate(document.sections, start=1):
        headings.append(Paragraph(_text(f"{number}. {section.title}"), styles["h2"]))
        story += [CondPageBreak(SECTION_ROOM), headings[-1]]
        for block in section.blocks:
            story.extend(_flowables(block, doc.width))
    # the contents' lines known before the first pass (page numbers are not): the first pass then
    # lays the pages out as the last will, and two passes suffice instead of three
    contents.addEntries([(0, heading.getPlainText(), 1, f"section-{n}") for n, heading in enumerate(headings, start=1)])
    doc.multiBuild(story, canvasmaker=_numbered_canvas(footer))
    return buffer.getvalue()
