"""The dossier as one self-contained HTML file: no script, no external resource, the trend figure
embedded as a PNG data URI, print styles for A4.

Text is escaped with `reports.page.esc` (the report's one escaping rule), and a Content-Security-
Policy that allows no script at all guards against a future edit that forgets it.
"""

from __future__ import annotations

import base64

from reports.compliance.document import Block, Bullets, Document, Facts, Figure, Heading, Paragraph, Section, Table
from reports.page import esc

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; base-uri 'none'; "
       "form-action 'none'")

STYLE = """
body { font: 14px/1.5 "DejaVu Sans", Arial, sans-serif; color: #1d1d1f; margin: 0 auto; max-width: 1100px;
       padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 36px 0 8px; border-bottom: 2px solid #dde;
       padding-bottom: 4px; } h3 { font-size: 15px; margin: 20px 0 6px; }
.subtitle { color: #555; margin: 0 0 16px; }
nav ol { columns: 3; margin: 8px 0 0; padding-left: 20px; }
p.note { color: #555; } p.good { border-left: 4px solid #2ca02c; padding: 4px 10px; background: #f1faf1; }
p.bad { border-left: 4px solid #d62728; padding: 4px 10px; background: #fdf1f1; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 4px; font-size: 12.5px; }
th, td { border: 1px solid #ccd; padding: 3px 6px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #eef0f6; } caption { caption-side: bottom; text-align: left; color: #555; font-size: 12px;
       padding-top: 2px; }
dl.facts { display: grid; grid-template-columns: 210px 1fr; gap: 2px 12px; margin: 6px 0; font-size: 13px; }
dl.facts dt { color: #555; } dl.facts dd { margin: 0; overflow-wrap: anywhere; font-family: "DejaVu Sans Mono",
       monospace; font-size: 12px; }
figure { margin: 8px 0; } figure img { max-width: 100%; } figcaption { color: #555; font-size: 12px; }
footer { margin-top: 40px; color: #777; font-size: 12px; }
@media print { @page { size: A4; margin: 16mm; } body { max-width: none; padding: 0; } h2 { break-after: avoid; }
       table, figure, dl.facts { break-inside: auto; } tr { break-inside: avoid; } nav { display: none; } }
"""


def _block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f'<p class="{block.tone}">{esc(block.text)}</p>'
    if isinstance(block, Heading):
        return f"<h3>{esc(block.text)}</h3>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{esc(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Facts):
        return '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in block.pairs) + "</dl>"
    if isinstance(block, Table):
        caption = f"<caption>{esc(block.caption)}</caption>" if block.caption else ""
        head = "".join(f"<th>{esc(h)}</th>" for h in block.headers)
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in block.rows)
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(block, Figure):
        data = base64.b64encode(block.png).decode("ascii")
        return (f'<figure><img src="data:image/png;base64,{data}" alt="{esc(block.alt)}">'
                f"<figcaption>{esc(block.caption)}</figcaption></figure>")
    raise TypeError(f"unknown block {type(block).__name__}")


def _section(number: int, section: Section) -> str:
    return (f'<section id="{esc(section.id)}"><h2>{number}. {esc(section.title)}</h2>'
            + "".join(_block(b) for b in section.blocks) + "</section>")


def render_html(document: Document, footer: str) -> str:
    toc = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in document.sections)
    body = "".join(_section(i, s) for i, s in enumerate(document.sections, start=1))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(document.title)}</title>\n<style>{STYLE}</style>\n</head><body>\n"
        f"<header><h1>{esc(document.title)}</h1><p class=\"subtitle\">{esc(document.subtitle)}</p>"
        f"<nav><strong>Contents</strong><ol>{toc}</ol></nav></header>\n"
        f"<main>{body}</main>\n<footer>{esc(footer)}</footer>\n</body></html>\n"
    )
