"""The framework mapping (`text/frameworks.yaml`) as typed records.

Why data and not code: a reviewer or a compliance officer may correct an item's coverage or note
without touching a renderer, and the HTML, PDF and JSON dossiers render the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

import yaml

from reports.compliance.prose import text_resource

Coverage = Literal["supported", "partial", "not covered"]
COVERAGES = get_args(Coverage)
FRAMEWORKS_TEXT = "frameworks.yaml"


@dataclass(frozen=True)
class FrameworkItem:
    item: str  # the framework's own numbering, e.g. "2(g)" or "MEASURE 2.9"
    requirement: str
    coverage: Coverage
    sections: tuple[str, ...]  # dossier section ids that support it
    note: str


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    items: tuple[FrameworkItem, ...]


@lru_cache(maxsize=1)
def frameworks() -> tuple[Framework, ...]:
    """The mapping, checked: known coverage values, sections listed exactly when something is covered."""
    data = yaml.safe_load(text_resource(FRAMEWORKS_TEXT))
    out = []
    for fw in data["frameworks"]:
        items = []
        for raw in fw["items"]:
            item = FrameworkItem(str(raw["item"]), raw["requirement"], raw["coverage"], tuple(raw["sections"]),
                                 raw["note"])
            if item.coverage not in COVERAGES:
                raise ValueError(f"{fw['id']} {item.item}: coverage {item.coverage!r} is not one of {COVERAGES}")
            if (item.coverage == "not covered") != (not item.sections):
                raise ValueError(f"{fw['id']} {item.item}: sections must be listed exactly when covered")
            items.append(item)
        out.append(Framework(fw["id"], fw["name"], tuple(items)))
    return tuple(out)
