"""farmbuild's configuration: ``farm.toml`` or ``[tool.farm]`` in ``pyproject.toml``.

Every key is optional; the defaults are the standard FARM layout, so a standard app needs
no configuration at all. The file is validated by pydantic models with ``extra="forbid"``,
and every problem is reported as a :class:`~farmbuild.errors.ConfigError` naming the file,
the line (best effort), the dotted key path and the expected form.

Secrets are never configuration values: only the *names* of environment variables
(``database.url_env``, ``ai.providers.<name>.api_key_env``).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import secrets
from .errors import ConfigError
from .runtime.names import canonical_ollama_name

CONFIG_FILE = "farm.toml"
PYPROJECT = "pyproject.toml"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODULE_ATTR = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


class _Section(BaseModel):
    # strict: TOML has real booleans and numbers, so "yes" or "5" in their place is a mistake
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True)


def _relative_path(value: str) -> str:
    """A project-relative POSIX path that cannot escape the project root."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty relative path")
    if "\x00" in value:
        raise ValueError("a path cannot contain NUL")
    p = PurePosixPath(value.replace("\\", "/"))
    if p.is_absolute() or re.match(r"^[A-Za-z]:", value):
        raise ValueError(f"expected a path relative to the project root, got absolute path {value!r}")
    if ".." in p.parts:
        raise ValueError(f"expected a path inside the project, got {value!r} (it climbs out with '..')")
    return str(p)


class ProjectSection(_Section):
    name: str | None = Field(default=None, description="project name; defaults to the directory name")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_\-]*", v):
            raise ValueError("expected a name made of letters, digits, '_' and '-', starting with a letter")
        return v


class BackendSection(_Section):
    root: str = "apps/api"
    app: str = "src.main:app"
    models: list[str] = ["src/models"]
    routes: list[str] = ["src/routes"]
    ai: str = "src/ai"

    @field_validator("root", "ai")
    @classmethod
    def _paths(cls, v: str) -> str:
        return _relative_path(v)

    @field_validator("models", "routes")
    @classmethod
    def _dirs(cls, v: list[str]) -> list[str]:
        return [_relative_path(x) for x in v]

    @field_validator("app")
    @classmethod
    def _app(cls, v: str) -> str:
        if not _MODULE_ATTR.match(v):
            raise ValueError(f'Import string "{v}" must be in format "<module>:<attribute>", e.g. "src.main:app"')
        return v


class FrontendSection(_Section):
    root: str = "apps/web"
    src: str = "src"
    vite_plugin: bool = Field(default=True, description="copy farmbuild's Vite plugin to <root>/farmbuild-vite.mjs")

    @field_validator("root", "src")
    @classmethod
    def _paths(cls, v: str) -> str:
        return _relative_path(v)


class PythonClientSection(_Section):
    enabled: bool = True
    output: str = "clients/python"
    package: str | None = Field(default=None, description="defaults to '<project>_client'")

    @field_validator("output")
    @classmethod
    def _paths(cls, v: str) -> str:
        return _relative_path(v)

    @field_validator("package")
    @classmethod
    def _pkg(cls, v: str | None) -> str | None:
        if v is not None and not _IDENT.match(v):
            raise ValueError("expected a Python package name (letters, digits, '_')")
        return v


class DatabaseSection(_Section):
    url_env: str = "MONGODB_URL"
    name: str | None = None
    migrations: str = "apps/api/migrations"
    apply: Literal["dev", "never"] = "dev"
    allow_destructive: bool = False
    timeout_s: float = Field(default=5.0, gt=0, le=300, description="how long farm waits for MongoDB to answer"
                             " (automatic apply in development waits at most 2 s)")

    @field_validator("migrations")
    @classmethod
    def _paths(cls, v: str) -> str:
        return _relative_path(v)

    @field_validator("url_env")
    @classmethod
    def _env(cls, v: str) -> str:
        if not _ENV_NAME.match(v):
            raise ValueError(
                "expected the NAME of an environment variable (e.g. MONGODB_URL), never the URL itself"
            )
        return v


_MODEL_NAME = re.compile(  # [registry[:port]/][namespace/]model[:tag], as Ollama and OpenAI name models
    r"^([A-Za-z0-9][A-Za-z0-9.\-]*(:[0-9]+)?/)?[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*"
    r"(:[A-Za-z0-9][A-Za-z0-9._\-]*)?$"
)
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434"
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
OPENAI_DEFAULT_KEY_ENV = "OPENAI_API_KEY"


class AIProvider(_Section):
    """One model provider: a local Ollama (``url``) or an OpenAI-compatible API (``base_url``)."""

    type: Literal["ollama", "openai"] | None = Field(
        default=None, description="defaults to 'ollama' for a provider named ollama or with `url`, else 'openai'"
    )
    url: str | None = Field(default=None, description=f"Ollama's address (default {OLLAMA_DEFAULT_URL})")
    base_url: str | None = Field(
        default=None, description=f"an OpenAI-compatible API's base URL (default {OPENAI_DEFAULT_BASE_URL})"
    )
    api_key_env: str | None = Field(
        default=None, description=f"NAME of the env var holding the key (default {OPENAI_DEFAULT_KEY_ENV} for OpenAI)"
    )
    models: list[str] = []
    default_model: str | None = None
    auto_pull: bool = True
    timeout_s: float = Field(default=60.0, gt=0)

    @field_validator("api_key_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.match(v):
            raise ValueError("expected the NAME of an environment variable holding the key, never the key itself")
        return v

    @field_validator("url", "base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not re.match(r"^https?://[^\s/?#]+", v):
            # never echo the value: a pasted key or a URL with credentials is a secret
            raise ValueError("expected an http(s) URL such as http://127.0.0.1:11434")
        if re.match(r"^https?://[^/]*@", v):
            raise ValueError("credentials in URLs are secrets: use api_key_env instead")
        if "?" in v or "#" in v:
            raise ValueError("a provider URL takes no query string or fragment (keys go in api_key_env)")
        return v.rstrip("/")

    @field_validator("models")
    @classmethod
    def _models(cls, v: list[str]) -> list[str]:
        for name in v:
            if not _MODEL_NAME.match(name):
                raise ValueError(
                    f"model name {name!r} is not valid: expected [namespace/]model[:tag] made of letters, digits, '.', '_' and '-'"
                )
        return v

    @field_validator("default_model")
    @classmethod
    def _default(cls, v: str | None) -> str | None:
        if v is not None and not _MODEL_NAME.match(v):
            raise ValueError(f"model name {v!r} is not valid: expected [namespace/]model[:tag]")
        return v

    @model_validator(mode="after")
    def _default_in_models(self) -> "AIProvider":
        if self.default_model is not None and self.models and self.default_model not in self.models:
            raise ValueError(f"default_model {self.default_model!r} is not one of models {self.models!r}")
        return self

    @property
    def model_names(self) -> list[str]:
        """The models this provider serves: ``models``, or just ``default_model`` when that is all there is."""
        if self.models:
            return list(self.models)
        return [self.default_model] if self.default_model else []


class AISection(_Section):
    providers: dict[str, AIProvider] = {}
    default_provider: str | None = Field(
        default=None, description="the provider whose default_model answers when a request names no model"
    )
    backend_url: str | None = Field(
        default=None, description="the running backend to hot-swap models in (default: development.servers.backend_url)"
    )

    @field_validator("providers")
    @classmethod
    def _names(cls, v: dict[str, AIProvider]) -> dict[str, AIProvider]:
        for name in v:
            if not _IDENT.match(name):
                raise ValueError(f"provider name {name!r} must be an identifier (letters, digits, '_')")
        return v

    @field_validator("backend_url")
    @classmethod
    def _backend(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"expected an http(s) URL, got {v!r}")
        return v.rstrip("/") if v else v

    def provider_type(self, name: str) -> str:
        p = self.providers[name]
        if p.type:
            return p.type
        if name == "ollama" or (p.url and not p.base_url):
            return "ollama"
        return "openai"

    def problems(self) -> list[tuple[str, str]]:
        """What the per-key validators cannot see: keys that contradict the provider's type, duplicate models,
        an unknown default provider. ``[(dotted key, problem)]``, checked by :func:`load_config`."""
        out: list[tuple[str, str]] = []
        for name, p in self.providers.items():
            key = f"ai.providers.{name}"
            kind = self.provider_type(name)
            if kind == "ollama":
                if p.base_url is not None:
                    out.append((f"{key}.base_url", "an Ollama provider takes `url` (Ollama's address), not base_url"))
                if p.api_key_env is not None:
                    out.append((f"{key}.api_key_env", "Ollama has no API keys; remove api_key_env, or set type = \"openai\""
                                " for an OpenAI-compatible server"))
            else:
                if p.url is not None:
                    out.append((f"{key}.url", "an OpenAI-compatible provider takes `base_url` (e.g. https://api.openai.com/v1),"
                                " not url"))
            seen: dict[str, str] = {}
            for m in p.models:
                canon = canonical_ollama_name(m) if kind == "ollama" else m
                if canon in seen:
                    same = f" (Ollama reads {m!r} as {canon!r})" if canon != m or seen[canon] != m else ""
                    out.append((f"{key}.models", f"model {m!r} is listed twice{same}; list each model once"))
                    break
                seen[canon] = m
        if self.default_provider is not None and self.default_provider not in self.providers:
            known = ", ".join(self.providers) or "none are configured"
            out.append(("ai.default_provider", f"{self.default_provider!r} is not a provider in [ai.providers]"
                        f" (known: {known})"))
        return out


class PluginsSection(_Section):
    dirs: list[str] = ["plugins"]

    @field_validator("dirs")
    @classmethod
    def _dirs(cls, v: list[str]) -> list[str]:
        return [_relative_path(x) for x in v]


class WatchPattern(_Section):
    pattern: str
    ignore: list[str] = []


class TypeGeneration(_Section):
    enabled: bool = True
    generate_on_model_change: bool = True
    generate_on_route_change: bool = True


class AIModels(_Section):
    enabled: bool = True
    hot_swap: bool = True
    preload_models: bool = False


class Performance(_Section):
    slow_reload_threshold_ms: int = Field(default=5000, ge=0)
    max_retries: int = Field(default=3, ge=0, le=100)
    cooldown_ms: int = Field(default=5000, ge=0)


class ErrorRecovery(_Section):
    enabled: bool = True
    fallback_to_restart: bool = True
    log_errors: bool = True


class HotReload(_Section):
    enabled: bool = True
    debounce_ms: int = Field(default=100, ge=0, le=60_000, description="quiet window: a batch closes after this long without a new change")
    max_batch_ms: int = Field(default=1000, ge=1, le=600_000, description="cap: a batch closes after this long even if changes keep coming")
    use_polling: bool = False
    watch: list[WatchPattern] = []
    type_generation: TypeGeneration = TypeGeneration()
    ai_models: AIModels = AIModels()
    performance: Performance = Performance()
    error_recovery: ErrorRecovery = ErrorRecovery()


class Servers(_Section):
    frontend_url: str = "http://127.0.0.1:5173"
    backend_url: str = "http://127.0.0.1:8000"
    frontend_command: str | None = None
    backend_command: str | None = None

    @field_validator("frontend_url", "backend_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"expected an http(s) URL, got {v!r}")
        return v.rstrip("/")


class Development(_Section):
    hot_reload: HotReload = HotReload()
    servers: Servers = Servers()


class WorkerSection(_Section):
    """The process that imports user code (warm across builds in ``farm watch``)."""

    timeout_s: float = Field(default=60.0, gt=0, description="a job (importing a module, building a schema) taking longer is killed")
    max_memory_mb: int = Field(default=2048, ge=64, description="a worker whose resident memory grows past this is replaced")


class FarmConfig(_Section):
    """The whole configuration. Every section has defaults."""

    project: ProjectSection = ProjectSection()
    backend: BackendSection = BackendSection()
    frontend: FrontendSection = FrontendSection()
    python_client: PythonClientSection = PythonClientSection()
    database: DatabaseSection = DatabaseSection()
    ai: AISection = AISection()
    plugins: PluginsSection = PluginsSection()
    development: Development = Development()
    worker: WorkerSection = WorkerSection()


SECTIONS = tuple(FarmConfig.model_fields)


class LoadedConfig:
    """A validated config plus where it came from."""

    def __init__(self, config: FarmConfig, root: Path, source: Path | None, raw: dict[str, Any]) -> None:
        self.config = config
        self.root = root
        self.source = source  # None when no file configures farmbuild
        self.raw = raw

    @property
    def project_name(self) -> str:
        return self.config.project.name or _default_name(self.root)

    @property
    def python_package(self) -> str:
        pkg = self.config.python_client.package
        if pkg:
            return pkg
        base = re.sub(r"\W", "_", self.project_name).strip("_").lower() or "app"
        if base[0].isdigit():
            base = "app_" + base
        return f"{base}_client"

    @property
    def database_name(self) -> str:
        return self.config.database.name or re.sub(r"\W", "_", self.project_name)

    def section_fingerprint(self, *keys: str) -> str:
        """A stable hash of the named sections (dotted paths) plus the farmbuild version.

        Used as doit ``config_changed`` input so a task reruns exactly when the part of the
        configuration that shapes its output changes.
        """
        from .fingerprint import code_fingerprint

        data = self.config.model_dump(mode="json")
        picked: dict[str, Any] = {"__farmbuild__": code_fingerprint()}
        for key in keys:
            node: Any = data
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            picked[key] = node
        blob = json.dumps(picked, sort_keys=True, separators=(",", ":"))
        return hashlib.md5(blob.encode()).hexdigest()


def _default_name(root: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_\-]", "_", root.resolve().name) or "app"
    if not name[0].isalpha():
        name = "app_" + name
    return name


def find_config_file(root: Path) -> tuple[Path | None, dict[str, Any]]:
    """Return the file that configures farmbuild in ``root`` and its raw table."""
    farm = root / CONFIG_FILE
    if farm.is_file():
        return farm, _read_toml(farm)
    pyproject = root / PYPROJECT
    if pyproject.is_file():
        data = _read_toml(pyproject)
        tool = data.get("tool", {})
        if isinstance(tool, dict) and "farm" in tool:
            table = tool["farm"]
            if not isinstance(table, dict):
                raise ConfigError(display_path(pyproject), "tool.farm", "expected a table ([tool.farm])")
            return pyproject, table
    return None, {}


def display_path(path: Path) -> str:
    """A path as the user typed it: relative to the current directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve())) or "."
    except (ValueError, OSError):
        return str(path)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(display_path(path), None, f"cannot read the file: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(display_path(path), None, "the file is not UTF-8 text; save it as UTF-8", line=line) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) if m else (text.count("\n") + (0 if text.endswith("\n") else 1) if "end of document" in str(exc) else None)
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(display_path(path), None, f"invalid TOML: {msg}", line=line) from exc


def load_config(root: Path) -> LoadedConfig:
    """Load and validate the configuration of the project at ``root``.

    >>> load_config(Path("examples/farm-app")).config.backend.root
    'apps/api'
    """
    root = root.resolve()
    source, table = find_config_file(root)
    try:
        config = FarmConfig.model_validate(table)
    except ValidationError as exc:
        raise _translate(exc, source or root / CONFIG_FILE, table) from None
    problems = config.ai.problems()
    if problems:
        raise _semantic_error(problems, source or root / CONFIG_FILE)
    secrets.remember(config)  # so that nothing farmbuild writes from now on can carry them
    return LoadedConfig(config, root, source, table)


def _semantic_error(problems: list[tuple[str, str]], file: Path) -> ConfigError:
    key, problem = problems[0]
    if len(problems) > 1:
        problem += f" (and {len(problems) - 1} more: " + "; ".join(f"{k}: {p}" for k, p in problems[1:4]) + ")"
    prefix = ["tool", "farm"] if file.name == PYPROJECT else []
    line = locate_key(file, prefix + key.split("."))
    return ConfigError(display_path(file), ("tool.farm." + key) if prefix else key, problem, line=line)


_EXPECTED = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected an array, e.g. [\"a\", \"b\"]",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
}


def _translate(exc: ValidationError, file: Path, table: dict[str, Any]) -> ConfigError:
    """Turn pydantic's first error into one clear ConfigError (the rest are listed after it)."""
    problems: list[tuple[str, str]] = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"]]
        typ = err["type"]
        if typ == "extra_forbidden":
            key = _dotted(loc)
            parent = _model_at(loc[:-1])
            allowed = ", ".join(parent.model_fields) if parent else ""
            hint = ""
            if loc[-1] in {"api_key", "password", "secret", "token", "url"} and loc[:1] in (["ai"], ["database"]):
                hint = "; secrets are never configuration values: name the environment variable that holds it instead"
                if loc[:1] == ["database"]:
                    hint += " (database.url_env)"
                else:
                    hint += " (api_key_env)"
            problems.append((key, f"unknown key{hint}; expected one of: {allowed}" if allowed else "unknown key"))
            continue
        # Validators raising ValueError give "Value error, <ours>"
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        elif typ in _EXPECTED:
            msg = _EXPECTED[typ]
        elif typ == "literal_error":
            msg = msg.replace("Input should be", "expected")
        elif typ in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
            op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[typ]
            bound = next(iter((err.get("ctx") or {}).values()), "?")
            msg = f"expected a number {op} {bound}"
        if (
            "input" in err
            and typ != "missing"
            and not err["msg"].startswith("Value error, ")
            and not isinstance(err["input"], dict)
        ):
            shown = repr(err["input"])
            if len(shown) > 60:
                shown = shown[:57] + "..."
            msg = f"{msg}, got {shown}"
        # drop the trailing model-validator location noise
        loc = [x for x in loc if not x.startswith("function-")]
        problems.append((_dotted(loc), msg))
    key, problem = problems[0]
    if len(problems) > 1:
        problem += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''}: " + "; ".join(
            f"{k}: {p}" for k, p in problems[1:4]
        ) + ")"
    prefix = ["tool", "farm"] if file.name == PYPROJECT else []
    line = locate_key(file, prefix + re.sub(r"\[\d+\]", "", key).split(".")) if key else None
    if file.name == PYPROJECT and key:
        key = "tool.farm." + key
    return ConfigError(display_path(file), key or None, problem, line=line)


def _dotted(loc: list[str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _model_at(loc: list[str]) -> type[BaseModel] | None:
    """The config model that owns the key at ``loc`` (dict keys and list indexes skipped)."""
    model: Any = FarmConfig
    skip_next = False
    for part in loc:
        if skip_next:
            skip_next = False
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        elif args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
            model = args[-1]  # dict[str, Model] / list[Model]: the next part is a key or index
            skip_next = True
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def locate_key(file: Path, parts: list[str]) -> int | None:
    """Best-effort line number of a dotted key in a TOML file (header or ``key =`` line)."""
    try:
        lines = file.read_text("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    parts = [p for p in parts if not p.isdigit()]
    header_re = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    current: list[str] = []
    best: int | None = None
    for i, line in enumerate(lines, 1):
        m = header_re.match(line)
        if m:
            current = [p.strip().strip('"\'') for p in m.group(1).split(".")]
            if current == parts:
                return i
            if parts[: len(current)] == current and best is None:
                best = i
            continue
        km = re.match(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=", line)
        if km:
            key = [p.strip().strip('"\'') for p in km.group(1).split(".")]
            full = current + key
            if full == parts:
                return i
            if parts[: len(full)] == full:
                best = i  # an inline table or dotted key holding the bad value
    return best
