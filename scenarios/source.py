"""Reading a scenario file: YAML with each node's line kept, so a bad value is named by its line
and field, and pydantic's error locations are turned into those words."""

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

Loc = tuple[str | int, ...]


class ScenarioError(ValueError):
    """A scenario file that cannot be used: the file, line and field, and what is wrong."""

    def __init__(self, source: str, line: int | None, field: str, message: str) -> None:
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {field}: {message}")
        self.source, self.line, self.field, self.message = source, line, field, message


def field_name(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


class LinedYaml:
    """The data of a YAML text with the line (1-based) of every mapping value and list item."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines: dict[Loc, int] = {}
        self._scalars = yaml.SafeLoader("")
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise ScenarioError(source, mark.line + 1 if mark else None, "(file)",
                                f"not valid YAML: {getattr(e, 'problem', e)}") from None
        self.data = self._build(node, ()) if node is not None else {}

    def _build(self, node: yaml.Node, loc: Loc) -> Any:
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalars.construct_object(key_node)
                out[key] = self._build(value_node, (*loc, str(key)))
                # a field is named by the line of its key (a block value starts below it)
                self.lines[(*loc, str(key))] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, (*loc, i)) for i, item in enumerate(node.value)]
        return self._scalars.construct_object(node)

    def line_of(self, loc: Iterable[str | int]) -> int | None:
        """The line of the deepest part of `loc` the file has (a missing field: its parent)."""
        parts = tuple(p if isinstance(p, int) else str(p) for p in loc)
        for n in range(len(parts), -1, -1):
            if parts[:n] in self.lines:
                return self.lines[parts[:n]]
        return None

    def error(self, loc: Iterable[str | int], message: str) -> ScenarioError:
        loc = tuple(loc)
        return ScenarioError(self.source, self.line_of(loc), field_name(loc), message)

    def from_validation(self, e: ValidationError) -> ScenarioError:
        errors = e.errors()
        err = errors[0]
        # A misspelt key is two errors, the real field missing and the spelling unknown: say
        # the spelling, with the field it was probably meant to be.
        if err["type"] == "missing":
            parent = err["loc"][:-1]
            typo = next((x for x in errors
                         if x["type"] == "extra_forbidden" and x["loc"][:-1] == parent), None)
            if typo is not None:
                missing = [str(x["loc"][-1]) for x in errors
                           if x["type"] == "missing" and x["loc"][:-1] == parent]
                meant = difflib.get_close_matches(str(typo["loc"][-1]), missing, n=1, cutoff=0.6)
                err = {**typo, "msg": f"not a known field; did you mean `{meant[0]}`?" if meant
                       else f"not a known field (missing: {', '.join(missing)})"}
        # Tagged unions and function validators put their own names in the location; keep
        # only the parts that are keys or indexes of the file.
        loc: list[str | int] = []
        node: Any = self.data
        for part in err["loc"]:
            in_list = isinstance(part, int) and isinstance(node, list) and part < len(node)
            if in_list or (isinstance(node, dict) and part in node):
                loc.append(part)
                node = node[part]
            elif isinstance(node, dict) and not isinstance(part, int) and "[" not in str(part) \
                    and err["type"] in ("missing", "extra_forbidden"):
                loc.append(part)
                break
        return self.error(loc, _message(err))


def _message(err: dict[str, Any]) -> str:
    if err["type"] == "missing":
        return "required"
    if err["type"] == "extra_forbidden":
        return str(err["msg"]) if str(err["msg"]).startswith("not a known field") else "not a known field"
    return str(err["msg"]).removeprefix("Value error, ")


def read(path: Path | str) -> LinedYaml:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError(str(path), None, "(file)", f"cannot read: {e.strerror}") from None
    return LinedYaml(text, str(path))
