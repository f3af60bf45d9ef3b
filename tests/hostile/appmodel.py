"""A small FARM app held as data, rendered to files, and edited the way developers edit code.

The hostile property test (item 1) applies random edits to an :class:`App` and writes the
result to disk. Every edit keeps the app *valid* — a rename updates the references, a delete
drops the fields and endpoints that used what it deleted — as a refactoring tool would, so
both the incremental and the clean build must succeed and agree byte for byte.

An edit is a tuple ``(op, a, b, c)`` of an operation name and three small integers that pick
what to edit (modulo what exists), so hypothesis shrinks a failing sequence to a short,
readable list such as ``[("rename_class", 0, 1, 0), ("delete_module", 1, 0, 0)]``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

# Names are drawn from small pools so that collisions happen: two modules defining an
# `Address`, a module renamed to the name another once had, a field renamed back and forth.
MODULE_KEYS = ["shop", "people", "billing/invoice", "billing/tax", "catalog", "misc"]
ROUTER_KEYS = ["items", "orders", "admin/users", "health"]
CLASS_NAMES = ["Item", "Address", "Order", "Money", "Customer", "Tag"]
ENUM_NAMES = ["Color", "Status"]
MEMBERS = ["red", "green", "blue", "draft", "paid"]
FIELD_NAMES = ["name", "price", "count", "tags", "note", "owner", "kind", "total"]
PRIMS = ["int", "str", "float", "bool", "list[str]", "int | None", "dict[str, int]"]
DOCS = ["", "A thing the shop sells.", "Money, in cents.", "Someone who buys.\n\n    Second paragraph."]
PLUGIN_NAMES = ["wishlist", "reviews", "banner"]
COMPONENTS = ["HeartButton", "StarRating", "PromoBanner", "Badge"]
SUMMARIES = ["", "List them", "Fetch one", "Create one"]
PROJECT_NAMES = [None, "harvest", "market"]
PACKAGES = [None, "shopclient"]

OPS = [
    "add_module", "delete_module", "rename_module",
    "add_class", "delete_class", "rename_class", "reorder_classes",
    "add_field", "delete_field", "rename_field", "reorder_fields", "retype_field", "edit_doc",
    "toggle_document", "add_enum_member", "remove_enum_member", "edit_comment",
    "add_router", "delete_router", "rename_router", "add_endpoint", "delete_endpoint", "retarget_endpoint",
    "edit_summary",
    "add_plugin", "delete_plugin",
    "toggle_pyclient", "set_project_name", "set_package", "toggle_vite_plugin",
]


@dataclass
class Fld:
    name: str
    type: str  # a primitive from PRIMS, or "ref:<module key>:<class name>" (a class or an enum)
    default: bool = False


@dataclass
class Cls:
    name: str
    kind: str = "model"  # "model" | "enum"
    doc: str = ""
    fields: list[Fld] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    collection: str | None = None


@dataclass
class Module:
    classes: list[Cls] = field(default_factory=list)
    rank: int = 0  # a module only references modules of lower rank: no import cycles
    comment: int = 0


@dataclass
class Endpoint:
    func: str
    method: str  # "get" | "post"
    path: str
    model: tuple[str, str] | None = None  # (module key, class name)
    summary: str = ""


@dataclass
class Router:
    endpoints: list[Endpoint] = field(default_factory=list)


@dataclass
class App:
    modules: dict[str, Module] = field(default_factory=dict)
    routers: dict[str, Router] = field(default_factory=dict)
    plugins: dict[str, list[str]] = field(default_factory=dict)  # name -> component names
    project_name: str | None = None
    pyclient: bool = True
    package: str | None = None
    vite_plugin: bool = True
    _rank: int = 0
    _counter: int = 0

    def clone(self) -> "App":
        return copy.deepcopy(self)

    # -- rendering ---------------------------------------------------------------------

    def files(self) -> dict[str, str]:
        """Every hand-written file of the app: ``{project-relative path: text}``."""
        out: dict[str, str] = {
            "apps/api/src/__init__.py": "",
            "apps/api/src/models/__init__.py": "",
            "apps/api/src/routes/__init__.py": "",
            "apps/web/src/main.tsx": "export {};\n",
            "apps/api/src/main.py": self._main(),
        }
        toml = self._toml()
        if toml:
            out["farm.toml"] = toml
        for key, mod in self.modules.items():
            out[f"apps/api/src/models/{key}.py"] = self._module(key, mod)
            for pkg in _packages(key):
                out[f"apps/api/src/models/{pkg}/__init__.py"] = ""
        for key, router in self.routers.items():
            out[f"apps/api/src/routes/{key}.py"] = self._router(key, router)
            for pkg in _packages(key):
                out[f"apps/api/src/routes/{pkg}/__init__.py"] = ""
        for name, comps in self.plugins.items():
            manifest = {"name": name, "version": "0.1.0", "description": f"The {name} plugin.",
                        "frontend": {"components": {c: {"path": f"frontend/{c}.tsx"} for c in comps}}}
            out[f"plugins/{name}/plugin.json"] = json.dumps(manifest, indent=2) + "\n"
            out[f"plugins/{name}/__init__.py"] = ""
            for c in comps:
                out[f"plugins/{name}/frontend/{c}.tsx"] = f"export default function {c}() {{\n  return null;\n}}\n"
        return out

    def _toml(self) -> str:
        parts = []
        if self.project_name:
            parts.append(f'[project]\nname = "{self.project_name}"\n')
        if not self.pyclient or self.package:
            lines = ["[python_client]"]
            if not self.pyclient:
                lines.append("enabled = false")
            if self.package:
                lines.append(f'package = "{self.package}"')
            parts.append("\n".join(lines) + "\n")
        if not self.vite_plugin:
            parts.append("[frontend]\nvite_plugin = false\n")
        return "\n".join(parts)

    def _main(self) -> str:
        lines = ["from fastapi import FastAPI", ""]
        for key in sorted(self.routers):
            lines.append(f"from src.routes.{key.replace('/', '.')} import router as {_alias(key)}")
        lines += ["", "", 'app = FastAPI(title="Hostile Shop", version="1.0.0")']
        for key in sorted(self.routers):
            lines.append(f"app.include_router({_alias(key)})")
        return "\n".join(lines) + "\n"

    def _module(self, key: str, mod: Module) -> str:
        imports: dict[tuple[str, str], str] = {}  # (module, class) -> local name
        local = {c.name for c in mod.classes}
        for c in mod.classes:
            for f in c.fields:
                ref = _ref(f.type)
                if ref and ref[0] != key and ref not in imports:
                    name = ref[1]
                    taken = local | set(imports.values())
                    imports[ref] = name if name not in taken else f"{name}{_alias(ref[0]).title().replace('_', '')}"
        lines = [f'"""Models: {key} (rank {mod.rank})."""', "", "from __future__ import annotations", "",
                 "import enum", "", "from pydantic import BaseModel"]
        for (mkey, name), alias in sorted(imports.items()):
            dotted = "src.models." + mkey.replace("/", ".")
            lines.append(f"from {dotted} import {name}" + (f" as {alias}" if alias != name else ""))
        if mod.comment:
            lines.append(f"# edited {mod.comment} time(s)")
        for c in mod.classes:
            lines += ["", ""]
            if c.kind == "enum":
                lines.append(f"class {c.name}(str, enum.Enum):")
                if c.doc:
                    lines.append(f'    """{c.doc}"""')
                for m in c.members:
                    lines.append(f'    {m} = "{m}"')
                if not c.members and not c.doc:
                    lines.append("    pass")
                continue
            lines.append(f"class {c.name}(BaseModel):")
            if c.doc:
                lines.append(f'    """{c.doc}"""')
            for f in c.fields:
                ref = _ref(f.type)
                ann = (ref[1] if ref[0] == key else imports[ref]) if ref else f.type
                lines.append(f"    {f.name}: {ann}" + (f" = {_default(f.type)}" if f.default and not ref else ""))
            if c.collection:
                lines += ["", "    class Settings:", f'        name = "{c.collection}"']
            if not c.fields and not c.doc and not c.collection:
                lines.append("    pass")
        return "\n".join(lines) + "\n"

    def _router(self, key: str, router: Router) -> str:
        imports: dict[tuple[str, str], str] = {}
        for e in router.endpoints:
            if e.model and e.model not in imports:
                name = e.model[1]
                taken = set(imports.values())
                imports[e.model] = name if name not in taken else f"{name}{_alias(e.model[0]).title().replace('_', '')}"
        lines = [f'"""Routes: {key}."""', "", "from fastapi import APIRouter"]
        for (mkey, name), alias in sorted(imports.items()):
            lines.append(f"from src.models.{mkey.replace('/', '.')} import {name}" + (f" as {alias}" if alias != name else ""))
        lines += ["", f'router = APIRouter(prefix="/{key}", tags=["{key.replace("/", "-")}"])']
        for e in router.endpoints:
            deco = f'@router.{e.method}("{e.path}"' + (f', summary="{e.summary}"' if e.summary else "") + ")"
            ann = imports[e.model] if e.model else "dict[str, int]"
            params = [f"{p}: int" for p in _path_params(e.path)]
            if e.method == "post" and e.model:
                params.append(f"body: {ann}")
            body = "body" if e.method == "post" and e.model else ("{}" if not e.model else "None  # type: ignore[return-value]")
            lines += ["", "", deco, f"def {e.func}({', '.join(params)}) -> {ann}:", f"    return {body}"]
        return "\n".join(lines) + "\n"

    # -- edits -------------------------------------------------------------------------

    def apply(self, edit: tuple[str, int, int, int]) -> str:
        """Apply one edit; returns what it did, in words (for the failure report)."""
        op, a, b, c = edit
        return getattr(self, "_" + op)(a, b, c) or f"{op}: nothing to do"

    # modules
    def _add_module(self, a: int, b: int, c: int) -> str | None:
        free = [k for k in MODULE_KEYS if k not in self.modules]
        if not free:
            return None
        key = free[a % len(free)]
        self._rank += 1
        mod = Module(rank=self._rank)
        mod.classes.append(self._new_class(key, mod, b, c))
        self.modules[key] = mod
        return f"add module {key} with class {mod.classes[0].name}"

    def _delete_module(self, a: int, b: int, c: int) -> str | None:
        if len(self.modules) <= 1:
            return None
        key = _pick(sorted(self.modules), a)
        del self.modules[key]
        self._drop_refs(lambda ref: ref[0] == key)
        return f"delete module {key}"

    def _rename_module(self, a: int, b: int, c: int) -> str | None:
        free = [k for k in MODULE_KEYS if k not in self.modules]
        if not free or not self.modules:
            return None
        old = _pick(sorted(self.modules), a)
        new = free[b % len(free)]
        self.modules[new] = self.modules.pop(old)
        self._map_refs(lambda ref: (new, ref[1]) if ref[0] == old else ref)
        return f"rename module {old} -> {new}"

    # classes
    def _new_class(self, key: str, mod: Module, b: int, c: int) -> Cls:
        taken = {x.name for x in mod.classes}
        if b % 4 == 3:
            names = [n for n in ENUM_NAMES if n not in taken] or [f"Enum{self._next()}"]
            return Cls(names[c % len(names)], kind="enum", members=MEMBERS[: 1 + c % 3])
        names = [n for n in CLASS_NAMES if n not in taken] or [f"Model{self._next()}"]
        cls = Cls(names[c % len(names)], doc=DOCS[b % len(DOCS)])
        cls.fields.append(Fld(FIELD_NAMES[c % len(FIELD_NAMES)], PRIMS[b % len(PRIMS)], default=bool(c % 2)))
        return cls

    def _add_class(self, a: int, b: int, c: int) -> str | None:
        if not self.modules:
            return None
        key = _pick(sorted(self.modules), a)
        mod = self.modules[key]
        cls = self._new_class(key, mod, b, c)
        mod.classes.insert(b % (len(mod.classes) + 1), cls)
        return f"add {cls.kind} {key}:{cls.name}"

    def _classes(self, kind: str | None = None) -> list[tuple[str, Cls]]:
        return [(k, cl) for k in sorted(self.modules) for cl in self.modules[k].classes if kind in (None, cl.kind)]

    def _delete_class(self, a: int, b: int, c: int) -> str | None:
        every = [(k, cl) for k, cl in self._classes() if len(self.modules[k].classes) > 1]
        if not every:
            return None
        key, cls = _pick(every, a)
        self.modules[key].classes.remove(cls)
        self._drop_refs(lambda ref: ref == (key, cls.name))
        return f"delete class {key}:{cls.name}"

    def _rename_class(self, a: int, b: int, c: int) -> str | None:
        every = self._classes()
        if not every:
            return None
        key, cls = _pick(every, a)
        taken = {x.name for x in self.modules[key].classes}
        pool = ENUM_NAMES if cls.kind == "enum" else CLASS_NAMES
        free = [n for n in pool if n not in taken]
        if not free:
            return None
        old, cls.name = cls.name, free[b % len(free)]
        self._map_refs(lambda ref: (key, cls.name) if ref == (key, old) else ref)
        return f"rename class {key}:{old} -> {cls.name}"

    def _reorder_classes(self, a: int, b: int, c: int) -> str | None:
        mods = [k for k in sorted(self.modules) if len(self.modules[k].classes) > 1]
        if not mods:
            return None
        key = _pick(mods, a)
        classes = self.modules[key].classes
        i, j = b % len(classes), c % len(classes)
        if i == j:
            j = (i + 1) % len(classes)
        classes[i], classes[j] = classes[j], classes[i]
        return f"swap classes {classes[j].name} and {classes[i].name} in {key}"

    # fields
    def _models(self) -> list[tuple[str, Cls]]:
        return self._classes("model")

    def _add_field(self, a: int, b: int, c: int) -> str | None:
        models = self._models()
        if not models:
            return None
        key, cls = _pick(models, a)
        free = [n for n in FIELD_NAMES if n not in {f.name for f in cls.fields}]
        if not free:
            return None
        fld = Fld(free[b % len(free)], self._type_for(key, cls, c), default=bool(b % 2))
        cls.fields.insert(c % (len(cls.fields) + 1), fld)
        return f"add field {key}:{cls.name}.{fld.name}: {fld.type}"

    def _type_for(self, key: str, cls: Cls, c: int) -> str:
        """A primitive, or a reference to a class of a lower-ranked module (or an earlier one here)."""
        rank = self.modules[key].rank
        refs = [f"ref:{k}:{x.name}" for k, m in sorted(self.modules.items()) if m.rank < rank for x in m.classes]
        mine = self.modules[key].classes
        refs += [f"ref:{key}:{x.name}" for x in mine[: mine.index(cls)]] if cls in mine else []
        options = PRIMS + refs
        return options[c % len(options)]

    def _field(self, a: int, b: int) -> tuple[str, Cls, Fld] | None:
        every = [(k, cl, f) for k, cl in self._models() for f in cl.fields]
        return _pick(every, a) if every else None

    def _delete_field(self, a: int, b: int, c: int) -> str | None:
        hit = self._field(a, b)
        if not hit:
            return None
        key, cls, fld = hit
        cls.fields.remove(fld)
        return f"delete field {key}:{cls.name}.{fld.name}"

    def _rename_field(self, a: int, b: int, c: int) -> str | None:
        hit = self._field(a, b)
        if not hit:
            return None
        key, cls, fld = hit
        free = [n for n in FIELD_NAMES if n not in {f.name for f in cls.fields}]
        if not free:
            return None
        old, fld.name = fld.name, free[b % len(free)]
        return f"rename field {key}:{cls.name}.{old} -> {fld.name}"

    def _reorder_fields(self, a: int, b: int, c: int) -> str | None:
        models = [(k, cl) for k, cl in self._models() if len(cl.fields) > 1]
        if not models:
            return None
        key, cls = _pick(models, a)
        cls.fields.append(cls.fields.pop(b % len(cls.fields)))
        return f"move field {cls.fields[-1].name} last in {key}:{cls.name}"

    def _retype_field(self, a: int, b: int, c: int) -> str | None:
        hit = self._field(a, b)
        if not hit:
            return None
        key, cls, fld = hit
        old, fld.type = fld.type, self._type_for(key, cls, c)
        return f"retype {key}:{cls.name}.{fld.name}: {old} -> {fld.type}"

    def _edit_doc(self, a: int, b: int, c: int) -> str | None:
        every = self._classes()
        if not every:
            return None
        key, cls = _pick(every, a)
        cls.doc = DOCS[(DOCS.index(cls.doc) + 1 + b % (len(DOCS) - 1)) % len(DOCS)] if cls.doc in DOCS else ""
        return f"docstring of {key}:{cls.name} -> {cls.doc!r}"

    def _edit_comment(self, a: int, b: int, c: int) -> str | None:
        if not self.modules:
            return None
        key = _pick(sorted(self.modules), a)
        self.modules[key].comment += 1
        return f"comment-only edit of {key}"

    def _toggle_document(self, a: int, b: int, c: int) -> str | None:
        models = self._models()
        if not models:
            return None
        key, cls = _pick(models, a)
        used = {cl.collection for _, cl in self._models() if cl.collection}
        if cls.collection:
            cls.collection = None
            return f"{key}:{cls.name} is no longer a document"
        name = cls.name.lower() + "s"
        if name in used:
            return None
        cls.collection = name
        return f"{key}:{cls.name} becomes a document in collection {name}"

    def _add_enum_member(self, a: int, b: int, c: int) -> str | None:
        enums = [(k, cl) for k, cl in self._classes("enum") if len(cl.members) < len(MEMBERS)]
        if not enums:
            return None
        key, cls = _pick(enums, a)
        free = [m for m in MEMBERS if m not in cls.members]
        member = free[b % len(free)]
        cls.members.insert(c % (len(cls.members) + 1), member)
        return f"add member {key}:{cls.name}.{member}"

    def _remove_enum_member(self, a: int, b: int, c: int) -> str | None:
        enums = [(k, cl) for k, cl in self._classes("enum") if len(cl.members) > 1]
        if not enums:
            return None
        key, cls = _pick(enums, a)
        member = cls.members.pop(b % len(cls.members))
        return f"remove member {key}:{cls.name}.{member}"

    # routers
    def _add_router(self, a: int, b: int, c: int) -> str | None:
        free = [k for k in ROUTER_KEYS if k not in self.routers]
        if not free:
            return None
        key = free[a % len(free)]
        self.routers[key] = Router()
        self._new_endpoint(key, b, c)
        return f"add router {key}"

    def _new_endpoint(self, key: str, b: int, c: int) -> Endpoint:
        router = self.routers[key]
        n = self._next()
        models = self._models()
        model = (lambda kc: (kc[0], kc[1].name))(_pick(models, c)) if models and b % 3 else None
        method = "post" if model and b % 3 == 2 else "get"
        path = "/" if not router.endpoints else ("/{item_id}" if c % 2 else f"/e{n}")
        if any(e.path == path and e.method == method for e in router.endpoints):
            path = f"/e{n}"
        ep = Endpoint(f"{_alias(key)}_{method}_{n}", method, path, model, SUMMARIES[c % len(SUMMARIES)])
        router.endpoints.append(ep)
        return ep

    def _delete_router(self, a: int, b: int, c: int) -> str | None:
        if not self.routers:
            return None
        key = _pick(sorted(self.routers), a)
        del self.routers[key]
        return f"delete router {key}"

    def _rename_router(self, a: int, b: int, c: int) -> str | None:
        free = [k for k in ROUTER_KEYS if k not in self.routers]
        if not free or not self.routers:
            return None
        old = _pick(sorted(self.routers), a)
        new = free[b % len(free)]
        self.routers[new] = self.routers.pop(old)
        return f"rename router {old} -> {new}"

    def _add_endpoint(self, a: int, b: int, c: int) -> str | None:
        if not self.routers:
            return None
        key = _pick(sorted(self.routers), a)
        ep = self._new_endpoint(key, b, c)
        return f"add endpoint {ep.method.upper()} /{key}{ep.path} -> {ep.model}"

    def _endpoints(self) -> list[tuple[str, Endpoint]]:
        return [(k, e) for k in sorted(self.routers) for e in self.routers[k].endpoints]

    def _delete_endpoint(self, a: int, b: int, c: int) -> str | None:
        every = [(k, e) for k, e in self._endpoints() if len(self.routers[k].endpoints) > 1]
        if not every:
            return None
        key, ep = _pick(every, a)
        self.routers[key].endpoints.remove(ep)
        return f"delete endpoint {ep.func}"

    def _retarget_endpoint(self, a: int, b: int, c: int) -> str | None:
        every = self._endpoints()
        models = self._models()
        if not every or not models:
            return None
        key, ep = _pick(every, a)
        k, cl = _pick(models, b)
        ep.model = None if c % 4 == 0 else (k, cl.name)
        if ep.model is None and ep.method == "post":
            ep.method = "get"
        return f"endpoint {ep.func} now uses {ep.model}"

    def _edit_summary(self, a: int, b: int, c: int) -> str | None:
        every = self._endpoints()
        if not every:
            return None
        key, ep = _pick(every, a)
        ep.summary = SUMMARIES[(SUMMARIES.index(ep.summary) + 1 + b % 3) % len(SUMMARIES)]
        return f"summary of {ep.func} -> {ep.summary!r}"

    # plugins
    def _add_plugin(self, a: int, b: int, c: int) -> str | None:
        free = [p for p in PLUGIN_NAMES if p not in self.plugins]
        used = {x for comps in self.plugins.values() for x in comps}
        comps = [x for x in COMPONENTS if x not in used]
        if not free or not comps:
            return None
        name = free[a % len(free)]
        self.plugins[name] = comps[b % len(comps): b % len(comps) + 1 + c % 2]
        return f"add plugin {name} with {self.plugins[name]}"

    def _delete_plugin(self, a: int, b: int, c: int) -> str | None:
        if not self.plugins:
            return None
        name = _pick(sorted(self.plugins), a)
        del self.plugins[name]
        return f"delete plugin {name}"

    # configuration
    def _toggle_pyclient(self, a: int, b: int, c: int) -> str:
        self.pyclient = not self.pyclient
        return f"python_client.enabled = {self.pyclient}"

    def _set_project_name(self, a: int, b: int, c: int) -> str | None:
        options = [n for n in PROJECT_NAMES if n != self.project_name]
        self.project_name = options[a % len(options)]
        return f"project.name = {self.project_name!r}"

    def _set_package(self, a: int, b: int, c: int) -> str | None:
        self.package = PACKAGES[1] if self.package is None else None
        return f"python_client.package = {self.package!r}"

    def _toggle_vite_plugin(self, a: int, b: int, c: int) -> str:
        self.vite_plugin = not self.vite_plugin
        return f"frontend.vite_plugin = {self.vite_plugin}"

    # references
    def _refs(self) -> list[Fld]:
        return [f for _, cl in self._models() for f in cl.fields if _ref(f.type)]

    def _drop_refs(self, gone) -> None:  # noqa: ANN001 - Callable[[tuple[str, str]], bool]
        for _, cl in self._models():
            cl.fields = [f for f in cl.fields if not (_ref(f.type) and gone(_ref(f.type)))]
        for _, ep in self._endpoints():
            if ep.model and gone(ep.model):
                ep.model = None
                ep.method = "get"

    def _map_refs(self, fn) -> None:  # noqa: ANN001 - Callable[[tuple[str, str]], tuple[str, str]]
        for f in self._refs():
            mkey, name = fn(_ref(f.type))
            f.type = f"ref:{mkey}:{name}"
        for _, ep in self._endpoints():
            if ep.model:
                ep.model = fn(ep.model)

    def _next(self) -> int:
        self._counter += 1
        return self._counter


def initial_app() -> App:
    """Two model modules (one importing the other), one router, one plugin."""
    app = App()
    app.modules["shop"] = Module(rank=1, classes=[
        Cls("Color", kind="enum", members=["red", "green"]),
        Cls("Item", doc="A thing the shop sells.", fields=[Fld("name", "str"), Fld("price", "float", default=True),
                                                            Fld("kind", "ref:shop:Color")]),
    ])
    app.modules["people"] = Module(rank=2, classes=[
        Cls("Customer", fields=[Fld("name", "str"), Fld("tags", "list[str]", default=True)], collection="customers"),
        Cls("Order", fields=[Fld("owner", "ref:people:Customer"), Fld("count", "int"), Fld("kind", "ref:shop:Item")]),
    ])
    app._rank = 2
    app.routers["items"] = Router([
        Endpoint("items_get_list", "get", "/", ("shop", "Item"), "List them"),
        Endpoint("items_post_one", "post", "/{item_id}", ("people", "Order")),
    ])
    app.plugins["wishlist"] = ["HeartButton"]
    return app


def _ref(t: str) -> tuple[str, str] | None:
    if t.startswith("ref:"):
        _, mkey, name = t.split(":")
        return mkey, name
    return None


def _default(t: str) -> str:
    return {"int": "0", "str": '""', "float": "0.0", "bool": "False", "list[str]": "[]", "int | None": "None",
            "dict[str, int]": "{}"}[t]


def _alias(key: str) -> str:
    return key.replace("/", "_")


def _packages(key: str) -> list[str]:
    parts = key.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _path_params(path: str) -> list[str]:
    return [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]


def _pick(seq, i: int):  # noqa: ANN001, ANN202
    return seq[i % len(seq)]
