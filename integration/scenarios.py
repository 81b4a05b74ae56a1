"""The scenarios, shared by the harness tests and the real pack tests.

Each names a fixture app under ``testdata/``, how it is built and run, and what the
run-time user must be able to write afterwards: the ``writable`` roots and
everything beneath them, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional

from .harness import BUILD_USER, RUN_USER, Layer, User, under

# `pack build --gid 0`, then OpenShift's arbitrary uid with gid 0.
OPENSHIFT_BUILD = User(BUILD_USER.uid, 0)
OPENSHIFT_RUN = User(1000650000, 0)
# A run user with its own primary group that shares the build's group as a
# supplementary one (`docker run --user 1003:1003 --group-add 1000`, or a
# Kubernetes fsGroup): what a file it creates is owned by depends on setgid.
SHARED_GROUP_RUN = User(1003, 1003, (BUILD_USER.gid,))

NPM_LAYER = Layer(
    buildpack="paketo-buildpacks/npm-install",
    name="launch-modules",
    files={
        "node_modules/.package-lock.json": '{"name": "upload-service", "lockfileVersion": 3}\n',
        "node_modules/express/package.json": '{"name": "express", "version": "4.19.2"}\n',
        "node_modules/express/index.js": "module.exports = require('./lib/express');\n",
        "node_modules/multer/package.json": '{"name": "multer", "version": "1.4.5-lts.1"}\n',
    },
    app_links={"node_modules": "node_modules"},
)

RAILS_WRITABLE = ("tmp/pids", "tmp/cache", "log", "storage")


@dataclass(frozen=True)
class Scenario:
    id: str
    app: str  # a directory under testdata/
    # The selection's roots: what the build makes writable and lists in the label.
    declared: tuple[str, ...]
    # What the run user can write afterwards: these roots and everything beneath
    # them ("." is the whole app); None means the declared roots.
    writable: Optional[tuple[str, ...]] = None  # noqa: UP045 (evaluated on 3.9)
    env: dict[str, str] = field(default_factory=dict)
    build_user: User = BUILD_USER
    run_user: User = RUN_USER
    app_umask: int = 0o022
    layers: tuple[Layer, ...] = ()
    # Single paths the run user can write besides those ("." is the app dir itself).
    writable_exact: tuple[str, ...] = ()
    # Substrings that must each appear in one of the build's warnings; with none,
    # the build must warn about nothing.
    warnings: tuple[str, ...] = ()
    # Directories the build must create (they are not in the app's sources).
    created: tuple[str, ...] = ()
    # Whether test_pack can build it with pack alone (no other buildpack's layers).
    pack: bool = True
    # Fixture buildpacks (testdata/buildpacks/) earlier in the group.
    before: tuple[str, ...] = ()

    @property
    def writable_roots(self) -> tuple[str, ...]:
        return self.declared if self.writable is None else self.writable

    def expected_writable(self, paths: Iterable[str]) -> set[str]:
        """Of the image's ``paths``, those the run user must be able to write."""
        return under(paths, self.writable_roots) | set(self.writable_exact)


SCENARIOS = (
    # No .writable-paths, no BP_WRITABLE_PATHS: nothing changes, pack's 0777 app root
    # included (test_scenarios also checks the image is byte-identical).
    Scenario("no-config", "no-config", (), writable_exact=(".",)),
    Scenario(
        "rails",
        "rails",
        RAILS_WRITABLE,
        created=("tmp/cache",),
    ),
    Scenario(
        "laravel",
        "laravel",
        (
            "storage/framework",
            "storage/logs",
            "storage/app/private",
            "storage/app/public",
            "bootstrap/cache",
        ),
        # git's rule: a file beneath a selected directory cannot be re-included.
        warnings=(".writable-paths:11:!/storage/app/public/.gitignore: un-selects nothing",),
    ),
    Scenario("django", "django", ("media", "data"), created=("media",)),
    Scenario(
        "node-modules-symlink",
        "node",
        ("uploads",),
        layers=(NPM_LAYER,),
        warnings=(".writable-paths:5:node_modules/.cache/: 'node_modules' is a symlink",),
        pack=False,
    ),
    Scenario(
        # A real buildpack earlier in the group: it writes into the app, contributes a
        # launch layer with a process type and links node_modules into it.
        "language-buildpack-before",
        "node",
        ("uploads",),
        before=("node-modules",),
        warnings=(".writable-paths:5:node_modules/.cache/: 'node_modules' is a symlink",),
        pack=False,
    ),
    Scenario("world-writable-strict", "world-writable", ("uploads",), app_umask=0o000),
    Scenario(
        "world-writable-not-strict",
        "world-writable",
        ("uploads",),
        writable=(".",),
        app_umask=0o000,
        env={"BP_WRITABLE_PATHS_STRICT": "false"},
    ),
    Scenario(
        "patterns-from-env",
        "no-config",
        ("static", "cache"),
        env={"BP_WRITABLE_PATHS": "/static/:/cache/"},
        created=("cache",),
    ),
    Scenario(
        "openshift-gid-0",
        "rails",
        RAILS_WRITABLE,
        build_user=OPENSHIFT_BUILD,
        run_user=OPENSHIFT_RUN,
        created=("tmp/cache",),
    ),
    Scenario(
        # Without `pack build --gid 0` the shared group is 1000, which an OpenShift
        # user (gid 0) is not in: it can write nothing, not even the declared paths.
        "openshift-without-gid-0",
        "rails",
        RAILS_WRITABLE,
        writable=(),
        run_user=OPENSHIFT_RUN,
        created=("tmp/cache",),
    ),
    Scenario("shared-group-run-user", "django", ("media", "data"), run_user=SHARED_GROUP_RUN),
)

BY_ID = {scenario.id: scenario for scenario in SCENARIOS}
