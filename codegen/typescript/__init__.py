"""TypeScript from JSON Schema — **the shared entry point** for every generator that writes TS.

The model types (``types/models/*.ts``, issue 3) and the typed API client/hooks (issue 4) both
render schema nodes through this package, so a field looks the same everywhere. The names
below are the stable API; everything else in the package is internal.

Rendering a type expression
---------------------------

>>> from codegen.typescript import TypeRenderer, ImportScope, RefTarget
>>> def resolve(ref, mode):          # '#/$defs/<key>' -> what it is called, where it comes from
...     name = ref.rsplit(":", 1)[-1]
...     return RefTarget(name=name + ("Input" if mode == "validation" and name == "Money" else ""),
...                      module="../types/models/common")
>>> r = TypeRenderer(resolve, ImportScope(declared={"listProducts"}))
>>> t = r.render({"type": "array", "items": {"$ref": "#/$defs/src.models.common:Money"}}, "validation")
>>> t.text, sorted(i.local for i in t.imports)
('MoneyInput[]', ['MoneyInput'])
>>> r.scope.render()
'import type { MoneyInput } from "../types/models/common";'

- ``TypeRenderer(resolve, scope=ImportScope(), *, typevars={}, defaults_sent=False)``
  - ``.render(schema, mode) -> TsType(text, imports)``; ``.expr(schema, mode) -> str``;
  - ``.properties(schema, mode) -> list[Property]`` (``Property.render(indent)``);
  - ``.interface(name, schema, mode, *, params=(), doc=None, deprecated=None) -> str`` (an
    ``export interface``); ``.type_alias(name, schema, mode, *, params=(), doc=None) -> str``
    (``export type Name = ...;``); ``.index_signature(schema, mode)``;
  - ``mode`` is ``"serialization"`` (what the API returns: ``X``) or ``"validation"`` (what it
    accepts: ``XInput``). In serialization mode a property in ``x-farm-always-sent`` is required;
    pass ``defaults_sent=True`` for schemas without that key (FastAPI's OpenAPI output schemas).
- ``resolve(ref: str, mode) -> RefTarget(name, module=None, args=(), schema=None, inline=None)``:
  ``module`` is the import specifier (None: declared in this file); ``args`` are generic
  argument *schemas* (``Page<Product>``); ``schema`` is the target's schema in that mode, if known.
- ``ImportScope(declared=(), *, aliases=None)``: the file's own names; ``.bind(module, name)``
  returns the local name (aliased ``<Module><Name>`` on collision); ``.render()`` writes the
  ``import type`` lines.
- ``describe(schema, deprecated=None, indent="")``: the JSDoc block (description, ``@format``,
  ``@default``, constraints, ``@deprecated``); ``jsdoc_tags(schema)`` the raw tags.
- Escaping, for text that lands in generated TS: ``ts_string`` (string literal),
  ``doc_comment`` / ``line_comment`` (comments), ``ts_identifier`` (declaration names),
  ``property_key`` (object keys), ``literal`` (a JSON value as a literal type).

Using farmbuild's schema documents (``.farm/schema/<key>.json``)
---------------------------------------------------------------

``model_table(doc)`` → ``ModelTable``; ``input_variants(table)`` → the keys that have an
``XInput``; ``SchemaResolver(table, module_files=..., from_file=..., local=..., inputs=...)`` is a
ready ``resolve`` that imports each model from the file the types generator writes for it
(``module_file(key)``, e.g. ``types/models/catalog.ts``; paths relative to the web ``src/``).
``specifier(from_file, to_file)`` gives relative import specifiers.
"""

from .models import (
    API_FILE,
    INDEX_FILE,
    MODELS_DIR,
    TEMPLATE_FILES,
    Export,
    generate,
    module_exports,
    module_file,
    render_api,
    render_index,
    render_module,
)
from .render import (
    MODES,
    Import,
    ImportScope,
    Mode,
    Property,
    RefTarget,
    Resolver,
    TsType,
    TypeRenderer,
    describe,
    jsdoc_tags,
    literal,
)
from .schema_doc import (
    INPUT_SUFFIX,
    ModelTable,
    NameCollision,
    SchemaResolver,
    export_name,
    input_variants,
    model_table,
    specifier,
)
from .text import doc_comment, line_comment, property_key, ts_identifier, ts_string

__all__ = [
    "API_FILE", "INDEX_FILE", "INPUT_SUFFIX", "MODELS_DIR", "MODES", "TEMPLATE_FILES",
    "Export", "Import", "ImportScope", "Mode", "ModelTable", "NameCollision", "Property", "RefTarget",
    "Resolver", "SchemaResolver", "TsType", "TypeRenderer",
    "describe", "doc_comment", "export_name", "generate", "input_variants", "jsdoc_tags", "line_comment",
    "literal", "model_table", "module_exports", "module_file", "property_key", "render_api", "render_index",
    "render_module", "specifier", "ts_identifier", "ts_string",
]
