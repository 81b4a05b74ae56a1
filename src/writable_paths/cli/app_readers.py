"""Small, safe readers for the literal values apps declare about where they write.

Nothing here executes app code: Python settings are read with ``ast`` and only a few
path expressions are evaluated (string literals, ``BASE_DIR / "x"``, ``os.path.join``,
``Path(__file__).resolve().parent``, ``os.environ.get("X", "default")``); YAML and
``.properties`` files are read line by line for plain ``key: value`` mappings. What
cannot be read as a literal is skipped. Every result is a path relative to the app
root, or None; paths outside the app are dropped.
"""

from __future__ import annotations

import ast
import json
import os
import posixpath
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass

MAX_BYTES = 1024 * 1024


def read_text(path: str) -> str | None:
    """A small regular file's text (never a symlink's target), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, MAX_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace")


def inside(app_dir: str, path: str) -> str | None:
    """``path`` (absolute, or relative to the app root) relative to the app root,
    or None when it is the app root itself or outside it."""
    if path.startswith("/workspace/"):  # the app dir in a CNB image
        path = path[len("/workspace/") :]
    full = os.path.normpath(os.path.join(app_dir, path))
    rel = os.path.relpath(full, app_dir)
    if rel == "." or rel == ".." or rel.startswith("../"):
        return None
    return rel


# -- YAML: plain block mappings only -------------------------------------------


def yaml_scalars(text: str) -> dict[str, str]:
    """The scalar values of a YAML file's block mappings, by dotted key path
    (``production.primary.database``); every document of the file, later ones win.
    Lists, flow collections, anchors' merges and multi-line scalars are skipped."""
    values: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("---"):
            stack = []
            continue
        if not line.strip() or line.lstrip().startswith(("#", "- ")):
            continue
        parsed = _yaml_key(line)
        if parsed is None:
            continue
        indent, key, rest = parsed
        while stack and stack[-1][0] >= indent:
            stack.pop()
        value = _yaml_value(rest)
        if value is None:
            stack.append((indent, key))
            continue
        values[".".join([k for _, k in stack] + [key])] = value
    return values


def _yaml_key(line: str) -> tuple[int, str, str] | None:
    """A mapping line's indentation, key and the text after ``key:`` (str methods
    only: linear on any line)."""
    text = line.lstrip(" ")
    indent = len(line) - len(text)
    if text[:1] in ("'", '"'):
        end = text.find(text[0], 1)
        rest = text[end + 1 :].lstrip() if end > 0 else ""
        if not rest.startswith(":"):
            return None
        return indent, text[1:end], rest[1:]
    colon = text.find(": ")
    if colon < 0:
        if not text.endswith(":"):
            return None
        colon = len(text) - 1
    key = text[:colon].strip()
    if not key or "#" in key or key.startswith(("[", "{", "&", "*", "!", "|", ">")):
        return None
    return indent, key, text[colon + 1 :]


def _yaml_value(raw: str) -> str | None:
    value = raw.strip()
    if value.startswith(("'", '"')):
        quote = value[0]
        end = value.find(quote, 1)
        return value[1:end] if end > 0 else None
    value = re.sub(r"\s+#.*$", "", value)
    if not value or value in ("|", ">", "|-", ">-") or value.startswith(("&", "*", "[", "{")):
        return None
    return value


def properties(text: str) -> dict[str, str]:
    """A Java ``.properties`` file's ``key=value`` (or ``key: value``) pairs;
    continuation lines are joined."""
    values: dict[str, str] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line.startswith(("#", "!"))):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        match = re.match(r"^((?:\\.|[^=:\s])+)\s*[=:\s]\s*(.*)$", logical)
        if match:
            values[match[1].replace("\\", "")] = match[2].strip()
        logical = ""
    return values


# -- Rails ---------------------------------------------------------------------

_ERB_ROOT_JOIN = re.compile(r"^<%=\s*Rails\.root\.join\((?P<args>[^)]*)\)\s*%>$")
_ACTIVE_STORAGE = re.compile(r"^\s*config\.active_storage\.service\s*=\s*:(\w+)", re.M)


@dataclass(frozen=True)
class DiskService:
    name: str
    root: str  # relative to the app root
    used: bool  # production.rb selects it


def rails_disk_services(app_dir: str) -> list[DiskService]:
    """Active Storage Disk services in config/storage.yml whose root is in the app."""
    text = read_text(os.path.join(app_dir, "config/storage.yml"))
    if text is None:
        return []
    production = read_text(os.path.join(app_dir, "config/environments/production.rb")) or ""
    used = set(_ACTIVE_STORAGE.findall(production))
    values = yaml_scalars(text)
    found = []
    for key, value in values.items():
        name, _, field = key.rpartition(".")
        # The test service only runs under the test suite, never in the image.
        if field != "service" or value != "Disk" or "." in name or name == "test":
            continue
        root = _rails_path(values.get(f"{name}.root", ""))
        rel = inside(app_dir, root) if root else None
        if rel is not None:
            found.append(DiskService(name, rel, name in used))
    return found


def _rails_path(value: str) -> str | None:
    match = _ERB_ROOT_JOIN.match(value.strip())
    if match is None:
        return None if "<%" in value else value
    parts = re.findall(r"""\s*(?:"([^"]*)"|'([^']*)')\s*(?:,|$)""", match["args"])
    joined = "/".join(a or b for a, b in parts)
    return joined or None


def rails_sqlite_databases(app_dir: str) -> list[str]:
    """The production SQLite database files config/database.yml names in the app."""
    text = read_text(os.path.join(app_dir, "config/database.yml"))
    if text is None:
        return []
    found = []
    for key, value in yaml_scalars(text).items():
        production = key.startswith("production.") and key.endswith(".database")
        if production and value.endswith((".sqlite3", ".sqlite", ".db")) and "<%" not in value:
            rel = inside(app_dir, value)
            if rel is not None:
                found.append(rel)
    return found


# -- Symfony ---------------------------------------------------------------------

_SYMFONY_SQLITE = re.compile(
    r"""^DATABASE_URL=["']?sqlite:///%kernel\.project_dir%/([^"'\s]+)""", re.M
)


def symfony_sqlite_database(app_dir: str) -> str | None:
    """The SQLite database DATABASE_URL names in .env, relative to the app root."""
    text = read_text(os.path.join(app_dir, ".env"))
    match = _SYMFONY_SQLITE.search(text or "")
    return inside(app_dir, match[1]) if match else None


# -- Spring Boot -----------------------------------------------------------------

SPRING_CONFIGS = (
    "src/main/resources/application.properties",
    "src/main/resources/application.yml",
    "src/main/resources/application.yaml",
    "config/application.properties",
    "config/application.yml",
    "application.properties",
    "application.yml",
    "BOOT-INF/classes/application.properties",
    "BOOT-INF/classes/application.yml",
)


@dataclass(frozen=True)
class SpringLogging:
    source: str
    path: str | None  # logging.file.path, relative to the app root
    name: str | None  # logging.file.name, relative to the app root


def spring_logging(app_dir: str) -> list[SpringLogging]:
    """Relative log locations set in the app's application.properties or .yml.
    Relative paths are relative to the working directory: the app root."""
    found = []
    for source in SPRING_CONFIGS:
        text = read_text(os.path.join(app_dir, source))
        if text is None:
            continue
        values = properties(text) if source.endswith(".properties") else yaml_scalars(text)
        path = _spring_literal(app_dir, values.get("logging.file.path"))
        name = _spring_literal(app_dir, values.get("logging.file.name"))
        if path or name:
            found.append(SpringLogging(source, path, name))
    return found


def _spring_literal(app_dir: str, value: str | None) -> str | None:
    if not value or "${" in value:
        return None
    return inside(app_dir, value.strip("'\""))


# -- nginx (Paketo) -----------------------------------------------------------------

# Paketo's nginx buildpack renders nginx.conf and the files its `include ... .conf;`
# lines name (a glob, relative to nginx.conf's directory), with this very expression
# (paketo-buildpacks/nginx:build.go and cmd/configure/internal/run.go).
_NGINX_INCLUDE = re.compile(r"include\s+(\S*.conf);")


def nginx_includes(app_dir: str) -> list[str]:
    """The globs of the .conf files nginx.conf includes, relative to the app root, in
    order and once each; absolute ones and those leaving the app are left out."""
    text = read_text(os.path.join(app_dir, "nginx.conf"))
    found: list[str] = []
    for match in _NGINX_INCLUDE.finditer(text or ""):
        glob = match[1]
        parts = glob.split("/")
        if glob.startswith("/") or ".." in parts or glob in found:
            continue
        found.append(glob)
    return found


# -- Next.js, Ghost ---------------------------------------------------------------

_APP_ROUTER_FILES = re.compile(r"^(page|layout|route)\.(js|jsx|ts|tsx|mdx)$")


def next_app_router(app_dir: str) -> str | None:
    """The App Router directory (app/ or src/app/ holding a page, layout or route)."""
    for candidate in ("app", "src/app"):
        try:
            with os.scandir(os.path.join(app_dir, candidate)) as entries:
                if any(_APP_ROUTER_FILES.match(e.name) for e in entries):
                    return candidate + "/"
        except OSError:
            continue
    return None


def ghost_content_path(app_dir: str) -> tuple[str, str]:
    """Ghost's content path relative to the app root, and where it was read."""
    for source in ("config.production.json", "config.development.json"):
        text = read_text(os.path.join(app_dir, source))
        if text is None:
            continue
        try:
            config = json.loads(text)
        except ValueError:
            continue
        paths = config.get("paths") if isinstance(config, dict) else None
        value = paths.get("contentPath") if isinstance(paths, dict) else None
        if isinstance(value, str):
            rel = inside(app_dir, value)
            if rel is not None:
                return rel, source
    return "content", ""


# -- Django ------------------------------------------------------------------------

_SETTINGS_DEFAULT = re.compile(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([A-Za-z_][\w.]*)["']""")


@dataclass(frozen=True)
class DjangoPaths:
    settings: str  # the settings file, relative to the app root
    media_root: str | None
    databases: tuple[str, ...]  # SQLite database files; "" when at the app root
    from_env: bool  # a value came from an os.environ default


def django_paths(app_dir: str) -> DjangoPaths | None:
    """MEDIA_ROOT and SQLite databases from the settings module manage.py names."""
    manage = read_text(os.path.join(app_dir, "manage.py"))
    match = _SETTINGS_DEFAULT.search(manage or "")
    if match is None:
        return None
    module = os.path.join(app_dir, *match[1].split("."))
    for candidate in (module + ".py", os.path.join(module, "__init__.py")):
        if os.path.isfile(candidate):
            reader = _Settings(app_dir)
            try:
                reader.load(candidate, depth=0)
            except (RecursionError, MemoryError):
                return None  # absurdly nested settings: fall back to the defaults
            media = reader.path_of(reader.names.get("MEDIA_ROOT"))
            databases = tuple(dict.fromkeys(reader.databases))
            return DjangoPaths(
                os.path.relpath(candidate, app_dir), media, databases, reader.from_env
            )
    return None


_PATH_FUNCS = {"dirname", "abspath", "realpath", "normpath", "join"}


class _Settings:
    """Reads a Django settings module's literal path values with ``ast``, following
    ``from .base import *`` within the app. Values are absolute paths (str)."""

    def __init__(self, app_dir: str) -> None:
        self.app_dir = app_dir
        self.names: dict[str, str] = {}
        self.databases: list[str] = []
        self.from_env = False
        self.file = ""

    def load(self, path: str, depth: int) -> None:
        text = read_text(path)
        if text is None or depth > 5:
            return
        try:
            tree = ast.parse(text, path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return
        saved, self.file = self.file, path
        for node in _statements(tree.body):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level
                and any(a.name == "*" for a in node.names)
            ):
                base = os.path.dirname(path)
                for _ in range(node.level - 1):
                    base = os.path.dirname(base)
                target = os.path.join(base, *(node.module or "").split("."))
                self.load(target + ".py", depth + 1)
                self.file = path
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target_node = node.targets[0]
                if isinstance(target_node, ast.Name):
                    value = self.eval(node.value)
                    if value is not None:
                        self.names[target_node.id] = value
                    elif target_node.id in self.names:
                        del self.names[target_node.id]
            for child in ast.walk(node):
                if isinstance(child, ast.Dict):
                    self._database(child)
        self.file = saved

    def _database(self, node: ast.Dict) -> None:
        fields = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
        engine = fields.get("ENGINE")
        if not (isinstance(engine, ast.Constant) and str(engine.value).endswith("sqlite3")):
            return
        name = fields.get("NAME")
        value = self.eval(name) if name is not None else None
        if value is None:
            return
        rel = os.path.relpath(os.path.normpath(value), self.app_dir)
        if rel.startswith(".."):
            return
        self.databases.append(rel)

    def path_of(self, value: str | None) -> str | None:
        return inside(self.app_dir, value) if value else None

    def eval(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            return value if os.path.isabs(value) else os.path.join(self.app_dir, value)
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                return self.file
            return self.names.get(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left = self.eval(node.left)
            right = self._part(node.right)
            return os.path.join(left, right) if left and right is not None else None
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            inner = self.eval(node.value)
            return os.path.dirname(inner) if inner else None
        if isinstance(node, ast.Call):
            return self._call(node)
        return None

    def _part(self, node: ast.expr) -> str | None:
        """A path segment: a string literal, or an os.environ default."""
        if isinstance(node, ast.Call) and _dotted(node.func) in ("os.environ.get", "os.getenv"):
            if len(node.args) < 2:
                return None
            self.from_env = True
            return _literal(node.args[1])
        return _literal(node)

    def _call(self, node: ast.Call) -> str | None:
        func = node.func
        name = _dotted(func)
        args = node.args
        if name in ("Path", "pathlib.Path", "str", "os.fspath") and len(args) == 1:
            return self.eval(args[0])
        if isinstance(func, ast.Attribute) and func.attr in ("resolve", "absolute") and not args:
            return self.eval(func.value)
        if isinstance(func, ast.Attribute) and func.attr == "joinpath":
            base = self.eval(func.value)
            parts = [self._part(a) for a in args]
            if base is None or any(p is None for p in parts):
                return None
            return os.path.join(base, *[p for p in parts if p is not None])
        if name in ("os.environ.get", "os.getenv", "env", "config") and len(args) >= 2:
            self.from_env = True
            return self.eval(args[1])
        if name.startswith(("os.path.", "path.")) and name.rpartition(".")[2] in _PATH_FUNCS:
            values = [self.eval(a) if i == 0 else self._part(a) for i, a in enumerate(args)]
            if not values or any(v is None for v in values):
                return None
            given = [v for v in values if v is not None]
            func_name = name.rpartition(".")[2]
            if func_name == "join":
                return os.path.join(*given)
            if func_name == "dirname":
                return os.path.dirname(given[0])
            return os.path.normpath(given[0])
        return None


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, including those inside if/try/with blocks."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            yield from _statements(node.body)
            yield from _statements(node.orelse)
        elif isinstance(node, ast.Try):
            yield from _statements(node.body)
            for handler in node.handlers:
                yield from _statements(handler.body)
            yield from _statements(node.orelse)
            yield from _statements(node.finalbody)
        elif isinstance(node, ast.With):
            yield from _statements(node.body)


def posix(rel: str) -> str:
    return posixpath.join(*rel.split(os.sep))
