"""HTML text of a report page: escaping rules and the page shell.

Two escaping paths, and only these two:
- text placed in HTML goes through `esc` (html.escape, quotes included);
- data for the page's script goes into `<script type="application/json">` through `script_json`,
  which writes `<`, `>`, `&` (and U+2028/9) as JSON \\u escapes, so no string can close the script
  element or open a comment. The script reads it with JSON.parse and renders text with
  textContent only.
A Content-Security-Policy with a per-page nonce admits only the page's own two scripts, as a second
line of defence should a future edit forget the rules above.
"""

from __future__ import annotations

import html
import json
import secrets
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def number(x: float, signed: bool = False) -> str:
    """A value as the report's prose shows it: three decimals, a true minus sign (U+2212)."""
    return (f"{x:+.3f}" if signed else f"{x:.3f}").replace("-", "\u2212")


def script_json(obj: Any) -> str:
    """JSON safe to place inside a <script type="application/json"> element."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in _JSON_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """Plotly.js, inlined once per file (the report must work offline)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().replace("</script", "<\\/script")


@lru_cache(maxsize=None)
def static_text(name: str) -> str:
    return resources.files("reports").joinpath("static", name).read_text(encoding="utf-8")


def pill(verdict: str, extra: str = "") -> str:
    """A verdict as a coloured label ("fail", "warn", "pass"; `extra` is appended as text)."""
    return f'<span class="pill verdict-{esc(verdict)}">{esc(verdict)}{esc(extra)}</span>'


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], cls: str = "") -> str:
    """A table whose cells are ALREADY-escaped HTML fragments (callers escape with `esc`)."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def page(*, title: str, body_html: str, data: dict[str, Any]) -> str:
    """A complete, self-contained HTML document."""
    nonce = secrets.token_urlsafe(18)
    csp = (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; "
        "style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; connect-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n"
        f"<style>{static_text('report.css')}</style>\n"
        "</head><body>\n"
        f"{body_html}\n"
        f'<script type="application/json" id="report-data">{script_json(data)}</script>\n'
        f'<script nonce="{nonce}">{plotly_js()}</script>\n'
        f'<script nonce="{nonce}">{static_text("report.js")}</script>\n'
        "</body></html>\n"
    )
