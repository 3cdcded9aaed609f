"""`probeset.yaml`: the probe set's header (name, version, description, default prompt, source,
licence, word classes, object order), strictly read.

Why strict: YAML accepts much that is not what the author meant (a duplicate key silently wins, an
unquoted `1.10` is the number 1.1, `2024-01-01` is a date), and the header's text ends up in the
database and the report. Every problem comes back with the file name and, where YAML knows it, the
line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditors.probes.files import FileProblem, absent_file_message, read_text
from auditors.probes.model import ProbeProblem
from auditors.probes.rules import (MANIFEST_KEYS, MAX_DESCRIPTION_CHARS, MAX_MANIFEST_BYTES, MAX_NAME_CHARS,
                                   MAX_PROMPT_CHARS, MAX_VERSION_CHARS, kind, text_problem, unknown_key_problem)

MANIFEST_NAME = "probeset.yaml"


@dataclass
class Header:
    """What `probeset.yaml` says; `read` is False when the file could not be read at all."""

    name: str = ""
    version: str = ""
    description: str = ""
    default_prompt: str | None = None
    source: str | None = None  # where the images came from (a compliance dossier shows it)
    licence: str | None = None  # under which terms (`licence` or `license`; both given must agree)
    word_classes: dict[str, str] = field(default_factory=dict)  # lower-cased word -> its class
    ordered_objects: bool = False  # objects listed in the order a reference answer names them
    read: bool = False
    problems: list[ProbeProblem] = field(default_factory=list)

    def problem(self, code: str, message: str, line: int | None = None) -> None:
        self.problems.append(ProbeProblem(code, message, line, None, MANIFEST_NAME))


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"key {key!r} appears twice (the second one, line {line}, would silently win)")
        self.line = line


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys in a mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class reports it
                duplicate = False
            if duplicate:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


def read_header(root: Path) -> Header:
    """The header of the probe set folder `root`, with every problem found."""
    header = Header()
    path = root / MANIFEST_NAME
    if not path.is_file():
        header.problem("missing_manifest", absent_file_message(root, MANIFEST_NAME))
        return header
    try:
        data = yaml.load(read_text(path, MAX_MANIFEST_BYTES), Loader=_StrictLoader)  # noqa: S506 - a safe loader
    except FileProblem as problem:
        header.problem(problem.code, str(problem))
        return header
    except _DuplicateKey as error:
        header.problem("bad_manifest", str(error), error.line)
        return header
    except (yaml.YAMLError, RecursionError, ValueError) as error:
        mark = getattr(error, "problem_mark", None)
        reason = " ".join(str(getattr(error, "problem", None) or error).split())[:200]
        header.problem("bad_manifest", f"not valid YAML ({reason})", mark.line + 1 if mark else None)
        return header
    if not isinstance(data, dict):
        header.problem("bad_manifest", f"must be a mapping with name, version, description, got {kind(data)}")
        return header
    header.read = True
    for key in data:
        problem = (f"key {key!r} must be text" if not isinstance(key, str)
                   else unknown_key_problem(key, MANIFEST_KEYS, MANIFEST_NAME, strict=False))
        if problem:
            header.problem("unknown_key", problem)
    _read_fields(data, header)
    return header


def _read_fields(data: dict[Any, Any], header: Header) -> None:
    for key, limit in (("name", MAX_NAME_CHARS), ("version", MAX_VERSION_CHARS)):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is None or (isinstance(value, str) and not value.strip()):
            header.problem("missing_field", f"has no {key!r}")
        elif isinstance(value, float):
            header.problem("bad_field", f"field {key!r} is the number {value}: quote it (YAML reads 1.10 as 1.1)")
        elif problem := text_problem(value, f"field {key!r}", limit):
            header.problem("bad_field", problem)
        else:
            setattr(header, key, value)
    description = data.get("description")
    if description is not None:
        problem = (text_problem(description, "field 'description'", MAX_DESCRIPTION_CHARS, line_breaks=True)
                   if description != "" else None)
        if problem:
            header.problem("bad_field", problem)
        else:
            header.description = description
    if "default_prompt" in data and "prompt" in data and data["default_prompt"] != data["prompt"]:
        header.problem("bad_field", "has both 'default_prompt' and 'prompt' and they differ")
    prompt = data.get("default_prompt", data.get("prompt"))
    if prompt is not None:
        problem = text_problem(prompt, "field 'default_prompt'", MAX_PROMPT_CHARS, line_breaks=True)
        if problem:
            header.problem("bad_field", problem)
        else:
            header.default_prompt = prompt
    header.source = _optional_text(data, "source", header)
    british, american = _optional_text(data, "licence", header), _optional_text(data, "license", header)
    if british and american and british != american:
        header.problem("bad_field", "has both 'licence' and 'license' and they differ")
    header.licence = british or american
    _read_word_classes(data.get("word_classes"), header)
    ordered = data.get("ordered_objects", False)
    if not isinstance(ordered, bool):
        header.problem("bad_field", "field 'ordered_objects' must be true or false")
    header.ordered_objects = ordered is True


def _read_word_classes(raw: Any, header: Header) -> None:
    """`word_classes: {colour: [red, blue], shape: [circle]}`: each word in one class at most."""
    if raw is None:
        return
    if not isinstance(raw, dict) or not all(isinstance(k, str) and k.strip() for k in raw):
        header.problem("bad_field", "field 'word_classes' must map class names to lists of words")
        return
    for name, words in raw.items():
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            header.problem("bad_field", f"word class {name!r} must be a list of words")
            continue
        for word in words:
            key = word.strip().lower()
            if header.word_classes.get(key, name) != name:
                header.problem("bad_field", f"word {word!r} is in two word classes "
                                            f"({header.word_classes[key]!r} and {name!r})")
            header.word_classes[key] = name


def _optional_text(data: dict[Any, Any], key: str, header: Header) -> str | None:
    """An optional free-text field: absent or blank is None, anything but usable text a problem."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if problem := text_problem(value, f"field {key!r}", MAX_DESCRIPTION_CHARS, line_breaks=True):
        header.problem("bad_field", problem)
        return None
    return value.strip()
