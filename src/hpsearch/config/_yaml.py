"""Reading a YAML file into a mapping, and showing a value the way the user wrote it.

Every mistake becomes a :class:`~hpsearch.errors.Problem` naming the file and the line: not valid
YAML, a key given twice in one mapping, an empty file, a file that is not a mapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hpsearch.errors import Problem


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, noting every key given twice in one mapping (PyYAML keeps the last)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, Any, int]] = []  # (line, key, line first given)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: PyYAML reports it below
                continue
            if first != key_node.start_mark.line + 1:
                self.duplicates.append((key_node.start_mark.line + 1, key, first))
        return super().construct_mapping(node, deep)


def read_yaml(path: Path, problems: list[Problem]) -> Any:
    source = str(path)
    if path.is_dir():
        problems.append(Problem(source, "", "must be a YAML file, got a directory"))
        return None
    if not path.is_file():
        problems.append(Problem(source, "", "file not found"))
        return None
    try:
        loader = _UniqueKeyLoader(path.read_text(encoding="utf-8"))
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark is not None:
            what += f" (column {mark.column + 1}"
            context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
            if context and start is not None and start.line != mark.line:
                what += f", {context} that starts on line {start.line + 1}"
            what += ")"
        if "'\\t'" in what:
            what += "; indent with spaces, not tabs"
        problems.append(Problem(source, where, f"not valid YAML: {what}"))
        return None
    except UnicodeDecodeError as exc:
        problems.append(Problem(source, "", f"must be UTF-8 text, got byte {exc.object[exc.start]:#04x} "
                                            f"at offset {exc.start} that is not UTF-8"))
        return None
    except OSError as exc:
        problems.append(Problem(source, "", f"must be a readable file, got: {exc.strerror or exc}"))
        return None
    for line, key, first in loader.duplicates:
        problems.append(Problem(source, f"line {line}", f"a key may appear once per mapping, but {key!r} "
                                                        f"was already given on line {first}"))
    if data is None:
        problems.append(Problem(source, "", "is empty; a space, search preset or objectives file is "
                                            "a mapping of keys"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(source, "", f"must be a mapping of keys (key: value lines), got "
                                            f"{kind_of(data)} {show(data)}"))
        return None
    return data


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def show(value: Any) -> str:
    """A value the way the user wrote it in YAML, on one short line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, (dict, list)):
        try:
            text = yaml.dump(value, Dumper=_NoAliasDumper, default_flow_style=True, width=1 << 20,
                             sort_keys=False).strip()
        except Exception:  # noqa: BLE001 - anything YAML gave us can be dumped; this is a fallback
            text = repr(value)
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)
