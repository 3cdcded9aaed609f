"""The dossier's fixed text (methods, limitations), written once in `text/methods.md` and read as
blocks that every output renders.

Why a small reader of our own and not a Markdown library: the resource uses three constructs only
(`## ` headings, paragraphs, `- ` bullets), and the same blocks must reach HTML, PDF and JSON.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from reports.compliance.document import Block, Bullets, Heading, Paragraph

METHODS_TEXT = "methods.md"


@lru_cache(maxsize=None)
def text_resource(name: str) -> str:
    return resources.files("reports.compliance").joinpath("text").joinpath(name).read_text(encoding="utf-8")


def parse_blocks(text: str) -> tuple[Block, ...]:
    """Headings (`## `), paragraphs (lines joined until a blank line) and bullet lists (`- `,
    continued by indented lines)."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    bullets: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Paragraph(" ".join(paragraph)))
            paragraph.clear()
        if bullets:
            blocks.append(Bullets(tuple(bullets)))
            bullets.clear()

    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("# ") and not blocks and not paragraph:
            continue  # the file's own title: the section supplies one
        if not line.strip():
            flush()
        elif line.startswith("## "):
            flush()
            blocks.append(Heading(line[3:].strip()))
        elif line.startswith("- "):
            if paragraph:
                flush()
            bullets.append(line[2:].strip())
        elif bullets and raw.startswith("  "):
            bullets[-1] += " " + line.strip()
        else:
            if bullets:
                flush()
            paragraph.append(line.strip())
    flush()
    return tuple(blocks)


def methods_blocks() -> tuple[Block, ...]:
    return parse_blocks(text_resource(METHODS_TEXT))
