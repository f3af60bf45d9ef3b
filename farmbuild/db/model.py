"""What a document model says its collection should be. Pure: schema JSON in, target out.

The input is one ``.farm/schema/<key>.json`` (see :mod:`farmbuild.worker.schema_op`). Field
names are the names documents are stored under: the model's validation aliases (``_id``,
``2fa``), which is what pydantic reads back from MongoDB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .operations import IndexSpec
from .validator import document_validator, type_name

_MISSING: Any = object()


@dataclass(frozen=True)
class FieldTarget:
    name: str  # the stored name
    type: str  # see validator.type_name
    required: bool
    default: Any = _MISSING  # a constant default, when the model has one
    default_factory: bool = False  # the default comes from a factory (constant or not)
    renamed_from: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING


@dataclass(frozen=True)
class TargetCollection:
    collection: str
    model: str  # "src.models.catalog:Product"
    source: str  # project-relative file of the model
    line: int | None
    fields: dict[str, FieldTarget] = field(default_factory=dict)
    indexes: dict[str, IndexSpec] = field(default_factory=dict)
    validator: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


def document_models(schema_file: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(class name, definition)`` of every document model in one schema file, in source order."""
    defs = schema_file.get("definitions", {})
    out = []
    for name in schema_file.get("order", list(defs)):
        d = defs.get(name)
        if isinstance(d, Mapping) and d.get("kind") == "model" and d.get("document"):
            out.append((name, d))
    return out


def index_from_json(raw: Mapping[str, Any]) -> IndexSpec:
    return IndexSpec(
        name=str(raw["name"]),
        keys=tuple((str(k), d) for k, d in raw["keys"]),
        unique=bool(raw.get("unique", False)),
        sparse=raw.get("sparse"),
        expire_after_seconds=raw.get("expireAfterSeconds"),
    )


def target_from_schema(schema_file: Mapping[str, Any], class_name: str) -> TargetCollection:
    """The target of the document model ``class_name`` defined in ``schema_file``."""
    definition = schema_file["definitions"][class_name]
    document = definition["document"]
    validator = document_validator(definition, schema_file.get("defs", {}).get("validation", {}))
    info = {f.get("validation_alias") or f.get("alias") or f["name"]: f for f in definition.get("fields", [])}
    required = set(validator.get("required", []))
    fields: dict[str, FieldTarget] = {}
    for name, prop in validator.get("properties", {}).items():
        if name == "_id" and name not in info:
            continue  # added for additionalProperties: false, not a model field
        fi = info.get(name, {})
        fields[name] = FieldTarget(
            name=name,
            type=type_name(prop),
            required=name in required,
            default=fi["default"] if "default" in fi else _MISSING,
            default_factory=bool(fi.get("default_factory")),
            renamed_from=fi.get("renamed_from"),
        )
    indexes = {}
    for raw in document.get("indexes", []):
        idx = index_from_json(raw)
        indexes[idx.name] = idx
    return TargetCollection(
        collection=document["collection"],
        model=definition.get("key", class_name),
        source=schema_file.get("source", ""),
        line=definition.get("line"),
        fields=fields,
        indexes=indexes,
        validator=validator,
    )
