"""The Python client: models by datamodel-code-generator, ``Client``/``AsyncClient`` by jinja2.

Pure: the merged OpenAPI document and its sidecar (``.farm/openapi.json``,
``.farm/openapi.meta.json``) in, ``{PurePosixPath: text}`` out, paths relative to the
client's output directory (``clients/python``)::

    pyproject.toml                 installable: pip install clients/python
    <package>/__init__.py          Client, AsyncClient, ApiError, ApiValidationError, models
    <package>/models.py            datamodel-code-generator 0.89.0 (its Python API), class names
                                   from the Python classes behind each component (see .names)
    <package>/client.py            codegen/templates/pyclient/client.py.j2
    <package>/py.typed

>>> files = generate(document, meta, package="shop_client", source=".farm/openapi.json")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from .names import class_names
from .operations import Operation, operations
from .text import comment_text, docstring, py_string, toml_string

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "pyclient"
TEMPLATE_FILES: tuple[Path, ...] = (
    TEMPLATE_DIR / "client.py.j2",
    TEMPLATE_DIR / "__init__.py.j2",
    TEMPLATE_DIR / "pyproject.toml.j2",
)
"""Every template the generator reads (declare them as ``file_dep``)."""

DMCG_VERSION = "0.89.0"


class ClientGenerationError(ValueError):
    """The document cannot be turned into a client (datamodel-code-generator refused it)."""


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=False,  # Python source, not HTML: text is escaped for where it lands (filters below)
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["pystr"] = lambda s: py_string(str(s))  # inside "..."
    env.filters["pystr_quoted"] = lambda s: '"' + py_string(str(s)) + '"'
    env.filters["docstring"] = docstring  # inside """..."""
    env.filters["tomlstr"] = lambda s: toml_string(str(s))  # inside a TOML "..."
    env.filters["optional"] = lambda t: t if t.split(" | ")[-1] == "None" else f"{t} | None"
    return env


def _op_doc(op: Operation) -> str:
    lines = [op.summary or op.function.replace("_", " ").capitalize()]
    if op.description:
        lines += ["", op.description.strip()]
    if op.deprecated:
        lines += ["", "Deprecated: the API marks this operation as deprecated."]
    lines += ["", f"``{op.method} {op.path}``"]
    text = docstring("\n".join(lines))
    return "\n".join((" " * 8 + line) if line.strip() else "" for line in text.split("\n")).lstrip()


# Validation keywords dropped inside anyOf/oneOf branches: datamodel-code-generator can only
# keep them by making a RootModel per branch (``name: Name | None``), which a caller then has to
# construct by hand. The server validates them anyway; a client type should take a plain str.
_BRANCH_CONSTRAINTS = frozenset({
    "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minProperties", "maxProperties",
})


def _plain_branches(node: Any, in_branch: bool = False) -> Any:
    if isinstance(node, list):
        return [_plain_branches(v, in_branch) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if in_branch and k in _BRANCH_CONSTRAINTS:
            continue
        if k in ("anyOf", "oneOf") and isinstance(v, list):
            out[k] = [_plain_branches(x, True) for x in v]
        elif k in ("properties", "$defs", "schemas") and isinstance(v, dict):
            out[k] = {name: _plain_branches(x) for name, x in v.items()}
        else:
            out[k] = _plain_branches(v, in_branch and k in ("items", "prefixItems", "additionalProperties"))
    return out


def dmcg_input(document: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The document as datamodel-code-generator should see it: enum member names restored
    (JSON Schema keeps only the values; an IntEnum would become ``integer_1``) and no
    constraints inside unions (see ``_BRANCH_CONSTRAINTS``)."""
    doc = _plain_branches(copy.deepcopy(dict(document)))
    schemas = doc.get("components", {}).get("schemas", {})
    for name, info in meta.get("schemas", {}).items():
        members = info.get("members")
        schema = schemas.get(name)
        if not members or not isinstance(schema, dict) or not isinstance(schema.get("enum"), list):
            continue
        by_value = {json.dumps(v, sort_keys=True): n for n, v in members}
        names = [by_value.get(json.dumps(v, sort_keys=True)) for v in schema["enum"]]
        if all(isinstance(n, str) for n in names):
            schema["x-enum-varnames"] = names
    return doc


def render_models(document: Mapping[str, Any], meta: Mapping[str, Any], class_of: Mapping[str, str]) -> str:
    if not document.get("components", {}).get("schemas"):
        # datamodel-code-generator refuses a document without schemas ("Models not found")
        return "from __future__ import annotations\n\n__all__: list[str] = []  # the API declares no schemas (yet)\n"
    from datamodel_code_generator import DataModelType, Formatter, InputFileType, PythonVersion, generate

    try:
        out = generate(
            dmcg_input(document, meta),
            input_file_type=InputFileType.OpenAPI,
            output_model_type=DataModelType.PydanticV2BaseModel,
            formatters=[Formatter.BUILTIN],
            disable_timestamp=True,
            model_name_map=dict(class_of),
            field_constraints=True,  # Field(pattern=...) rather than constr(): mypy-clean
            # `x: Annotated[T, Field(alias=...)] = default`: mypy (no plugin) sees the default and
            # the Python name, so `Model(two_factor=True)` type-checks; populate_by_name makes it work
            use_annotated=True,
            allow_population_by_field_name=True,
            strict_nullable=True,
            set_default_enum_member=True,
            use_subclass_enum=True,
            use_schema_description=True,
            use_field_description=True,
            use_double_quotes=True,
            use_standard_collections=True,
            target_python_version=PythonVersion.PY_311,
        )
    except Exception as exc:  # noqa: BLE001 - dmcg raises many types; one message for the user
        raise ClientGenerationError(f"datamodel-code-generator {DMCG_VERSION} failed: {exc}") from exc
    if not isinstance(out, str):
        raise ClientGenerationError(f"datamodel-code-generator {DMCG_VERSION} returned no single module")
    # its own header names the input '<dict>'; ours says where the input really is
    body = out.split("\n", 2)[2] if out.startswith("# generated by datamodel-codegen") else out
    return body.lstrip("\n")


def generate(document: Mapping[str, Any], meta: Mapping[str, Any], *, package: str,
             source: str = ".farm/openapi.json") -> dict[PurePosixPath, str]:
    """Every file of the Python client (see the module docstring)."""
    components = document.get("components", {}).get("schemas", {})
    class_of = class_names(components, meta)
    ops = operations(document, meta, class_of)
    for op in ops:
        op.doc = _op_doc(op)
    info = document.get("info", {})
    title = str(info.get("title") or "the API")
    version = str(info.get("version") or "0")
    # the title and version are the API's own text: one comment line, escaped for each place
    header = (f"# Generated by farmbuild from {comment_text(source)} ({comment_text(title)} {comment_text(version)})."
              " Do not edit.")
    ctx = {
        "header": header,
        "title": title,
        "package": package,
        "version": version,
        "operations": ops,
        "validation_error": class_of.get("HTTPValidationError"),
        "model_names": sorted(set(class_of.values())),
    }
    env = _env()
    pkg = PurePosixPath(package)
    models = render_models(document, meta, class_of)
    return {
        PurePosixPath("pyproject.toml"): env.get_template("pyproject.toml.j2").render(**ctx),
        pkg / "__init__.py": env.get_template("__init__.py.j2").render(**ctx),
        pkg / "models.py": (
            f"{header}\n# Models by datamodel-code-generator {DMCG_VERSION}, named after the API's Python classes.\n\n"
            + models
        ),
        pkg / "client.py": env.get_template("client.py.j2").render(**ctx),
        pkg / "py.typed": "",
    }


__all__ = ["ClientGenerationError", "TEMPLATE_FILES", "class_names", "dmcg_input", "generate", "operations"]
