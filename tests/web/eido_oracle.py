"""NENA's EIDO JSON schema as the oracle: `EmergencyIncidentDataObjectType` of the copy in
../shared/standards/eido-json, its relative `$ref`s into NIEMComponents resolved, validated with
jsonschema (formats checked: a `date-time` must be RFC 3339).

OpenAPI 3.0 schema objects are JSON Schema draft 4 with extra words (`example`, `title`), which
a draft-4 validator ignores. The one upstream quirk: `minItems: 1,` reads in YAML as the string
"1,"; it is read as 1 here, on loading, never by editing the copy."""

import functools
import json
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

STANDARD = Path(__file__).resolve().parents[3] / "shared" / "standards" / "eido-json"
SCHEMA = STANDARD / "Schema" / "openapi.yaml"
SAMPLE = STANDARD / "Samples" / "Sample call transfer EIDO.json"


def _counts_as_numbers(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: int(v.rstrip(",")) if k in ("minItems", "maxItems") and isinstance(v, str)
                else _counts_as_numbers(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_counts_as_numbers(v) for v in node]
    return node


def _load(path: Path) -> Resource[Any]:
    return Resource(_counts_as_numbers(yaml.safe_load(path.read_text(encoding="utf-8"))), DRAFT4)


def _retrieve(uri: str) -> Resource[Any]:
    assert uri.startswith("file://"), uri  # only the copy's own files, never the network
    return _load(Path(uri.removeprefix("file://")))


@functools.cache
def validator() -> Draft4Validator:
    main = SCHEMA.as_uri()
    registry: Registry[Any] = Registry(retrieve=_retrieve).with_resource(main, _load(SCHEMA))
    return Draft4Validator({"$ref": f"{main}#/components/schemas/EmergencyIncidentDataObjectType"},
                           registry=registry, format_checker=FormatChecker())


def problems(doc: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(doc)]


def assert_valid_eido(doc: dict[str, Any]) -> None:
    found = problems(doc)
    assert not found, "\n".join(found[:20])
    # every reference points at a component of the same document
    ids = {c["$id"] for value in doc.values() if isinstance(value, list) for c in value if "$id" in c}
    ids |= {doc["$id"], *(doc["incidentComponent"]["$id"] for _ in [0] if "incidentComponent" in doc)}
    dangling = sorted({r for r in _refs(doc) if r not in ids})
    assert not dangling, dangling


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) and len(node) == 1 else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def sample() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return found
