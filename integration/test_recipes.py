"""The README's recipes work: the framework's own writes succeed at run time, others fail.

For each recipe (README "Using it" > "Recipes"), a fixture app laid out as the
framework's buildpacks leave it gets the recipe's block, taken from the README as it is,
as its ``.writable-paths``; the harness builds it (the real bin/detect and bin/build,
after the fixture buildpack that stands for the framework's, where it has one), the
export becomes an OCI image on busybox, and runc runs, as the run user (uid 1002 gid
1000, no other groups), exactly the writes the framework makes:

- Spring Boot with ``logging.file.path=logs``: logback creates ``logs/spring.log``,
  appends to it, and rotates it in its directory (a rename to a temporary name, the
  compressed ``spring.log.<date>.<n>.gz``, the temporary removed, a new ``spring.log``).
- Paketo nginx: its configure step writes each rendered template back over
  ``nginx.conf`` and the ``.conf`` files it includes (Go's ``os.WriteFile``: open for
  writing, create, truncate: a shell's ``>``); nginx writes its pid to
  ``/tmp/nginx.pid`` and makes its temporary directories in ``/tmp``.

Each also tries what the app must not be able to do (files beside those, a new file
in the app root), which must fail with "Permission denied"; and the nginx app built
without the recipe shows why it is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from testing import readme

from . import runc
from .containers import ContainerImage
from .harness import BUILD_USER, REPO, RUN_USER, TESTDATA, Sandbox

UNAVAILABLE = runc.unavailable()
pytestmark = pytest.mark.skipif(UNAVAILABLE is not None, reason=str(UNAVAILABLE))
BB = runc.BUSYBOX
DENIED = "Permission denied"
# Runs each "name=command" argument in a shell of its own (in /workspace, as the run
# user) and prints "name ok" or "name failed: <what the command said>".
STEPS = f"""
for step in "$@"; do
  name=${{step%%=*}}; command=${{step#*=}}
  if out=$({BB} sh -c "$command" 2>&1); then echo "$name ok"
  else echo "$name failed: $out" | {BB} tr '\\n' ' '; echo; fi
done
"""


def recipe(heading: str) -> str:
    """The gitignore block of the recipe under ``heading``, as the README has it."""
    (block,) = readme.blocks(readme.section(readme.read(), heading))
    assert block.info == "gitignore", block.where()
    return block.body


@dataclass
class Built:
    image: ContainerImage
    workdir: Path
    build_output: str

    def run(self, steps: Sequence[tuple[str, str]]) -> dict[str, str]:
        """Each step's result, run in one container as the run user: "ok" or the error."""
        args = [f"{name}={command}" for name, command in steps]
        done = runc.run(
            self.image.oci,
            runc.RunSpec(RUN_USER),
            [BB, "sh", "-c", STEPS, "steps", *args],
            self.workdir,
        )
        assert done.returncode == 0, done.stderr
        results = {}
        for line in done.stdout.splitlines():
            name, _, result = line.partition(" ")
            results[name] = "ok" if result == "ok" else result.removeprefix("failed: ").strip()
        assert list(results) == [name for name, _ in steps], done.stdout
        return results

    @property
    def app(self) -> Path:
        return self.image.oci.rootfs / "workspace"


class Make(Protocol):
    def __call__(self, app: str, patterns: str, before: tuple[str, ...] = ()) -> Built: ...


@pytest.fixture
def build(tmp_path: Path) -> Iterator[Make]:
    made: list[Sandbox] = []
    workdir = Path(tempfile.mkdtemp(prefix="wp-recipe-"))

    def make(app: str, patterns: str, before: tuple[str, ...] = ()) -> Built:
        source = tmp_path / app
        shutil.copytree(TESTDATA / app, source)
        (source / ".writable-paths").write_text(patterns)
        sandbox = Sandbox(source, before=before)
        made.append(sandbox)
        run = sandbox.run()
        assert run.build is not None, run.detect.describe()
        assert run.build.returncode == 0, run.build.describe()
        assert run.build.warnings == [], run.build.describe()
        image = ContainerImage.of(sandbox, sandbox.export(), "busybox", workdir)
        return Built(image, workdir, run.build.output)

    try:
        yield make
    finally:
        for sandbox in made:
            sandbox.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _assert(results: dict[str, str], allowed: Sequence[str], denied: Sequence[str]) -> None:
    for name in allowed:
        assert results[name] == "ok", f"{name}: {results[name]}"
    for name in denied:
        assert DENIED in results[name], f"{name} should be refused: {results[name]}"


SPRING_LOG = "logs/spring.log"
ROTATED = "logs/spring.log.2026-12-02.0"
SPRING_STEPS = (
    # logback's FileAppender: create (parents first) and append.
    ("create-log", f"echo 'Started DemoApplication' >> {SPRING_LOG}"),
    # The rolling policy: rename aside, compress beside, remove the renamed file.
    ("rotate", f"{BB} mv {SPRING_LOG} {ROTATED}.tmp && {BB} gzip -c {ROTATED}.tmp > {ROTATED}.gz"),
    ("remove-renamed", f"{BB} rm {ROTATED}.tmp"),
    ("new-log", f"echo 'Started DemoApplication again' >> {SPRING_LOG}"),
    # Not declared: a log file in the app root, the app's own classes.
    ("log-in-app-root", "echo x >> spring.log"),
    ("change-config", "echo x >> BOOT-INF/classes/application.properties"),
    ("new-class", "echo x > BOOT-INF/classes/Injected.class"),
)


def test_spring_boot_recipe_lets_logback_log_and_rotate(build: Make) -> None:
    built = build("spring-boot", recipe("Spring Boot"))
    results = built.run(SPRING_STEPS)
    _assert(results, [s for s, _ in SPRING_STEPS[:4]], [s for s, _ in SPRING_STEPS[4:]])
    # What was written is there, and belongs to the shared group (setgid directory).
    log = built.app / SPRING_LOG
    assert log.read_text() == "Started DemoApplication again\n"
    for path in (log, built.app / f"{ROTATED}.gz"):
        st = os.stat(path)
        assert (st.st_uid, st.st_gid) == (RUN_USER.uid, BUILD_USER.gid), path
    assert not (built.app / f"{ROTATED}.tmp").exists()


NGINX_RENDERED = "worker_processes 1;\\ndaemon off;\\n"
NGINX_STEPS = (
    # configure: os.WriteFile over each template (O_WRONLY|O_CREAT|O_TRUNC).
    ("render-nginx.conf", f"printf '{NGINX_RENDERED}' > nginx.conf"),
    ("render-conf.d/gzip.conf", "printf 'gzip on;\\n' > conf.d/gzip.conf"),
    ("render-conf.d/backend.conf", "printf 'upstream backend {}\\n' > conf.d/backend.conf"),
    # nginx itself: -g "pid /tmp/nginx.pid;", temporary files in /tmp (the template's).
    ("pid-file", "echo 42 > /tmp/nginx.pid"),
    ("temp-dirs", f"{BB} mkdir /tmp/client_body_temp /tmp/proxy_temp /tmp/fastcgi_temp"),
    # Not declared: the rest of the app; a new file beside nginx.conf (what writing
    # through a new file and a rename needs); nginx's default temp path under -p.
    ("change-mime.types", "echo x >> mime.types"),
    ("change-site", "echo x > public/index.html"),
    ("new-file-in-app-root", "echo x > nginx.conf.new"),
    ("temp-dir-under-prefix", f"{BB} mkdir client_body_temp"),
)


def test_nginx_recipe_lets_paketo_configure_render_the_templates(build: Make) -> None:
    built = build("nginx", recipe("nginx (Paketo)"), ("nginx-server",))
    results = built.run(NGINX_STEPS)
    _assert(results, [s for s, _ in NGINX_STEPS[:5]], [s for s, _ in NGINX_STEPS[5:]])
    assert (built.app / "nginx.conf").read_text() == "worker_processes 1;\ndaemon off;\n"


def test_nginx_without_the_recipe_cannot_render_its_configuration(build: Make) -> None:
    """Strict mode takes away the group write Paketo's nginx gave the templates."""
    built = build("nginx", "/logs/\n", ("nginx-server",))
    results = built.run(NGINX_STEPS[:3])
    _assert(results, [], [s for s, _ in NGINX_STEPS[:3]])


@pytest.mark.parametrize(
    ("app", "heading"), [("spring-boot", "Spring Boot"), ("nginx", "nginx (Paketo)")]
)
def test_init_writes_the_recipes_patterns(app: str, heading: str) -> None:
    command = [sys.executable, "-m", "writable_paths.cli", "init", "--stdout", str(TESTDATA / app)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=True)
    written = [line for line in done.stdout.splitlines() if line and not line.startswith("#")]
    wanted = [line for line in recipe(heading).splitlines() if line and not line.startswith("#")]
    assert written == wanted
