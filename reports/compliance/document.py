"""The dossier as a renderer-neutral document: sections of paragraphs, lists, tables and figures.

Why an intermediate document: the HTML file and the PDF must carry the same content. The content
is decided once (`reports.compliance.content`) as these blocks, and each renderer only decides how
a block looks (`reports.compliance.html`, `reports.compliance.pdf`). All text is plain text;
renderers escape it for their medium.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

Tone = Literal["body", "note", "good", "bad"]


@dataclass(frozen=True)
class Paragraph:
    text: str
    tone: Tone = "body"


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section."""

    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    """Label and value pairs (an identity card: hashes, times, settings)."""

    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...] = ()  # relative column widths (empty: equal)
    caption: str = ""

    def __post_init__(self) -> None:
        if self.widths and len(self.widths) != len(self.headers):
            raise ValueError(f"{len(self.widths)} widths for {len(self.headers)} columns")
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(f"a row of {len(row)} cells under {len(self.headers)} headers")


@dataclass(frozen=True)
class Figure:
    png: bytes
    caption: str
    alt: str


Block = Union[Paragraph, Heading, Bullets, Facts, Table, Figure]


@dataclass(frozen=True)
class Section:
    id: str  # stable: the framework mapping refers to sections by id
    title: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    sections: tuple[Section, ...]

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)
