"""``writable-paths init``: recognise the app's framework and draft a ``.writable-paths``.

Only reads a few marker and configuration files; never walks the tree and never runs
app code. The patterns come from ``presets`` (one entry per framework, each citing
where the framework documents the path), completed by what ``app_readers`` can read
as literal values (Rails' storage.yml, Django's MEDIA_ROOT, Spring Boot's log path).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass

from . import app_readers as read
from . import presets
from .presets import Line

# -- what the user reads -------------------------------------------------------

HEADER = """\
# .writable-paths: the paths this app writes to at run time.
# Everything else in the app directory stays read-only for the run-time user.
# Syntax is gitignore's: a trailing '/' means a directory (and everything
# beneath it), a leading '/' anchors a pattern at the app root, '!' un-selects.
# Missing literal directories (such as tmp/pids/) are created by the build.
# Check it before you build: writable-paths check
"""

TEMPLATE = """\
# Nothing was recognised in this app, so every pattern below is commented out.
# Uncomment the ones your app needs (a pattern line holds only the pattern:
# gitignore has no comments at the end of a line).
#
# Log files:
# /log/
#
# PID files (the build creates the directory when it is missing):
# /tmp/pids/
#
# Everything inside storage, but not storage itself ...
# /storage/*
# ... except storage/public, which stays read-only:
# !/storage/public
#
# A SQLite database: select its directory (SQLite writes a journal beside it):
# /data/
"""

NAMES = (
    "Rails, Laravel, Symfony, WordPress, Drupal, Django, Flask, Next.js, Nuxt, Spring Boot, "
    "Strapi, Ghost, nginx"
)
SECTION = "# {name} (recognised by {evidence})"
NOT_USED = ", not the production service"
USED = ", the production service"
AT_ROOT = (
    "{what} is at the app root, which always stays read-only for the run user: "
    "move it into its own directory (such as data/) and select that directory"
)
ROOT_DB = "The SQLite database {database} ({source})"
ROOT_LOG = "The log file {name} (logging.file.name in {source})"
SPRING_CONSOLE = (
    "Spring Boot logs to the console only (no relative logging.file.path or "
    "logging.file.name found): nothing to select for logs"
)
FROM_ENV = "(read from an os.environ default: check the value the app runs with)"
NOT_LITERAL = "MEDIA_ROOT in {settings} could not be read as a path inside the app: check this line"


@dataclass(frozen=True)
class Framework:
    """A recognised framework: its name, why it was recognised, its lines."""

    name: str
    evidence: str
    lines: tuple[Line, ...]
    # Comments written after the lines: what was read but cannot be a pattern.
    notes: tuple[str, ...] = ()

    @property
    def patterns(self) -> tuple[str, ...]:
        """The patterns written active (uncommented)."""
        return tuple(line.pattern for line in self.lines if line.active)


# -- marker files ------------------------------------------------------------------


def _is_file(app_dir: str, name: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(os.path.join(app_dir, name)).st_mode)
    except OSError:
        return False


def _is_dir(app_dir: str, name: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(os.path.join(app_dir, name)).st_mode)
    except OSError:
        return False


def _json(app_dir: str, name: str) -> dict[str, object]:
    text = read.read_text(os.path.join(app_dir, name))
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _dependencies(manifest: dict[str, object], *sections: str) -> dict[str, str]:
    """Dependency name -> the section that names it."""
    found: dict[str, str] = {}
    for section in sections:
        deps = manifest.get(section)
        if isinstance(deps, dict):
            for name in deps:
                found.setdefault(str(name), section)
    return found


def _npm(app_dir: str) -> dict[str, str]:
    return _dependencies(_json(app_dir, "package.json"), "dependencies", "devDependencies")


def _composer(app_dir: str) -> dict[str, str]:
    return _dependencies(_json(app_dir, "composer.json"), "require", "require-dev")


def _first_file(app_dir: str, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if _is_file(app_dir, n)), None)


# -- one function per framework: None, or the framework with its lines ------------


def _rails(app_dir: str) -> Framework | None:
    if not (_is_file(app_dir, "Gemfile") and _is_file(app_dir, "config/application.rb")):
        return None
    lines = list(presets.RAILS)
    notes = []
    for service in read.rails_disk_services(app_dir):
        why = presets.RAILS_DISK.format(
            service=service.name, used=USED if service.used else NOT_USED
        )
        lines.append(Line(f"/{service.root}/", why, active=service.used))
    for database in read.rails_sqlite_databases(app_dir):
        directory = os.path.dirname(database)
        if not directory:
            notes.append(
                AT_ROOT.format(what=ROOT_DB.format(database=database, source="config/database.yml"))
            )
            continue
        lines.append(Line(f"/{directory}/", presets.RAILS_SQLITE.format(database=database)))
    return Framework("Rails", "Gemfile and config/application.rb", _merge(lines), tuple(notes))


def _laravel(app_dir: str) -> Framework | None:
    if not _is_file(app_dir, "artisan"):
        return None
    return Framework("Laravel", "artisan", presets.LARAVEL)


def _symfony(app_dir: str) -> Framework | None:
    if not _is_file(app_dir, "bin/console"):
        return None
    if "symfony/framework-bundle" in _composer(app_dir):
        evidence = "bin/console and symfony/framework-bundle in composer.json"
    elif _is_file(app_dir, "symfony.lock"):
        evidence = "bin/console and symfony.lock"
    else:
        return None
    lines = list(presets.SYMFONY)
    database = read.symfony_sqlite_database(app_dir)
    if database and os.path.dirname(database):
        why = presets.SYMFONY_SQLITE.format(database=database)
        lines.append(Line(f"/{os.path.dirname(database)}/", why))
    return Framework("Symfony", evidence, tuple(lines))


WORDPRESS_ROOTS = ("", "wordpress/", "web/", "public/")
WORDPRESS_MARKERS = ("wp-config.php", "wp-config-sample.php", "wp-includes/version.php")


def _wordpress(app_dir: str) -> Framework | None:
    for root in WORDPRESS_ROOTS:
        marker = _first_file(app_dir, tuple(root + m for m in WORDPRESS_MARKERS))
        if marker is not None:
            return Framework("WordPress", marker, _rooted(presets.WORDPRESS, root))
    return None


def _drupal(app_dir: str) -> Framework | None:
    for root in ("", "web/", "docroot/"):
        if _is_file(app_dir, root + "core/lib/Drupal.php"):
            return Framework("Drupal", root + "core/lib/Drupal.php", _rooted(presets.DRUPAL, root))
    composer = _json(app_dir, "composer.json")
    if not any(name.startswith("drupal/core") for name in _composer(app_dir)):
        return None
    extra = composer.get("extra")
    scaffold = extra.get("drupal-scaffold") if isinstance(extra, dict) else None
    locations = scaffold.get("locations") if isinstance(scaffold, dict) else None
    web_root = locations.get("web-root") if isinstance(locations, dict) else None
    web = read.inside(app_dir, web_root) if isinstance(web_root, str) else None
    prefix = f"{web}/" if web else ""
    return Framework("Drupal", "drupal/core in composer.json", _rooted(presets.DRUPAL, prefix))


def _django(app_dir: str) -> Framework | None:
    if not _is_file(app_dir, "manage.py"):
        return None
    found = read.django_paths(app_dir)
    if found is None:
        return Framework("Django", "manage.py", (presets.DJANGO_MEDIA_DEFAULT,))
    lines: list[Line] = []
    notes = []
    suffix = f" {FROM_ENV}" if found.from_env else ""
    if found.media_root:
        why = presets.DJANGO_MEDIA.format(settings=found.settings)
        lines.append(Line(f"/{found.media_root}/", why + suffix))
    else:
        lines.append(presets.DJANGO_MEDIA_DEFAULT)
        notes.append(NOT_LITERAL.format(settings=found.settings))
    for database in found.databases:
        directory = os.path.dirname(database)
        if not directory:
            what = ROOT_DB.format(database=database, source=found.settings)
            notes.append(AT_ROOT.format(what=what) + suffix)
            continue
        why = presets.DJANGO_SQLITE.format(database=database, settings=found.settings)
        lines.append(Line(f"/{directory}/", why + suffix))
    return Framework("Django", "manage.py", _merge(lines), tuple(notes))


_FLASK = re.compile(r"""^\s*["']?flask\b""", re.I | re.M)


def _flask(app_dir: str) -> Framework | None:
    if _is_file(app_dir, "manage.py"):
        return None  # Django
    for name in ("requirements.txt", "pyproject.toml", "Pipfile", "setup.cfg"):
        text = read.read_text(os.path.join(app_dir, name))
        if text and _FLASK.search(text):
            return Framework("Flask", f"flask in {name}", presets.FLASK)
    return None


NEXT_CONFIGS = ("next.config.js", "next.config.mjs", "next.config.cjs", "next.config.ts")


def _next(app_dir: str) -> Framework | None:
    evidence = _first_file(app_dir, NEXT_CONFIGS)
    if evidence is None:
        section = _npm(app_dir).get("next")
        if section is None:
            return None
        evidence = f"package.json ({section} has next)"
    lines = list(presets.NEXT)
    router = read.next_app_router(app_dir)
    if router is not None:
        line = presets.NEXT_APP
        lines.append(Line(line.pattern, line.why.format(router=f"App Router in {router}")))
    return Framework("Next.js", evidence, tuple(lines))


NUXT_CONFIGS = ("nuxt.config.ts", "nuxt.config.js", "nuxt.config.mjs")


def _nuxt(app_dir: str) -> Framework | None:
    evidence = _first_file(app_dir, NUXT_CONFIGS)
    if evidence is None:
        section = _npm(app_dir).get("nuxt")
        if section is None:
            return None
        evidence = f"package.json ({section} has nuxt)"
    return Framework("Nuxt", evidence, presets.NUXT)


SPRING_BUILDS = ("pom.xml", "build.gradle", "build.gradle.kts")


def _spring(app_dir: str) -> Framework | None:
    evidence: str | None = None
    for name in SPRING_BUILDS:
        text = read.read_text(os.path.join(app_dir, name))
        if text and "spring-boot" in text:
            evidence = f"spring-boot in {name}"
            break
    if evidence is None and _is_dir(app_dir, "BOOT-INF"):
        evidence = "BOOT-INF (an exploded Spring Boot jar)"
    if evidence is None:
        return None
    lines: list[Line] = []
    notes = []
    for found in read.spring_logging(app_dir):
        if found.path:
            lines.append(Line(f"/{found.path}/", presets.SPRING_PATH.format(source=found.source)))
        if found.name:
            directory = os.path.dirname(found.name)
            if directory:
                why = presets.SPRING_NAME.format(name=found.name, source=found.source)
                lines.append(Line(f"/{directory}/", why))
            else:
                what = ROOT_LOG.format(name=found.name, source=found.source)
                notes.append(AT_ROOT.format(what=what))
    if not lines and not notes:
        notes.append(SPRING_CONSOLE)
    return Framework("Spring Boot", evidence, _merge(lines), tuple(notes))


def _strapi(app_dir: str) -> Framework | None:
    section = _npm(app_dir).get("@strapi/strapi")
    if section is None:
        return None
    return Framework(
        "Strapi", f"package.json ({section} has @strapi/strapi)", _rooted(presets.STRAPI, "")
    )


def _ghost(app_dir: str) -> Framework | None:
    manifest = _json(app_dir, "package.json")
    if manifest.get("name") == "ghost":
        evidence = "package.json (name ghost)"
    elif "ghost" in _npm(app_dir):
        evidence = "package.json (depends on ghost)"
    elif _is_file(app_dir, "config.production.json") and _is_dir(app_dir, "content"):
        evidence = "config.production.json and content/"
    else:
        return None
    content, source = read.ghost_content_path(app_dir)
    why = presets.GHOST.format(source=f", paths.contentPath in {source}" if source else "")
    return Framework("Ghost", evidence, (Line(f"/{content}/", why),))


def _nginx(app_dir: str) -> Framework | None:
    # Paketo's nginx buildpack detects nginx.conf at the app root (BP_NGINX_CONF_LOCATION).
    if not _is_file(app_dir, "nginx.conf"):
        return None
    lines = [presets.NGINX_CONF]
    for glob in read.nginx_includes(app_dir):
        lines.append(Line(f"/{glob}", presets.NGINX_INCLUDE.format(glob=glob)))
    return Framework("nginx (Paketo)", "nginx.conf", tuple(lines))


RECOGNISERS: tuple[Callable[[str], Framework | None], ...] = (
    _rails,
    _laravel,
    _symfony,
    _wordpress,
    _drupal,
    _django,
    _flask,
    _next,
    _nuxt,
    _spring,
    _strapi,
    _ghost,
    _nginx,
)


def _rooted(lines: tuple[Line, ...], root: str) -> tuple[Line, ...]:
    prefix = "/" + root if root else "/"
    return tuple(
        Line(line.pattern.replace("{root}", prefix, 1), line.why, line.active) for line in lines
    )


def _merge(lines: list[Line]) -> tuple[Line, ...]:
    """Lines without repeats and without a line inside a directory already written
    active (a selected directory selects its whole subtree)."""
    kept: list[Line] = []
    for line in lines:
        if any(k.pattern == line.pattern for k in kept):
            continue
        if any(k.active and line.pattern.startswith(k.pattern) for k in kept):
            continue
        kept.append(line)
    return tuple(kept)


def recognise(app_dir: str) -> list[Framework]:
    """The frameworks recognised in ``app_dir``, in a fixed order."""
    return [f for f in (r(app_dir) for r in RECOGNISERS) if f is not None]


def render(frameworks: list[Framework]) -> str:
    """The file's text: a header, then one commented section per framework."""
    if not frameworks:
        return HEADER + "\n" + TEMPLATE
    parts = [HEADER]
    seen: set[str] = set()
    for framework in frameworks:
        lines = [SECTION.format(name=framework.name, evidence=framework.evidence)]
        for line in framework.lines:
            if line.pattern in seen:
                continue
            seen.add(line.pattern)
            lines.append(f"# {_sentence(line.why)}:")
            lines.append(line.pattern if line.active else f"# {line.pattern}")
        lines += [f"# Note: {_sentence(note)}." for note in framework.notes]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def active_lines(app_dir: str) -> tuple[str, ...]:
    """The lines ``init`` would write for this app (not the ones it writes
    commented out); empty when it recognises no framework."""
    lines: list[str] = []
    for framework in recognise(app_dir):
        lines += [p for p in framework.patterns if p not in lines]
    return tuple(lines)
