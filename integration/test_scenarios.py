"""The promise, end to end: in the exported image the run-time user can write exactly
the declared paths and nothing else, and the build touched nothing but the app dir
and its own layers dir.

Every scenario is a real build of a fixture app by the real bin/detect and bin/build,
as real users (setpriv), exported and probed with real permission checks. No mocks.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .harness import (
    AS_ROOT,
    BP_ID,
    BUILD_USER,
    NEEDS_ROOT,
    RUN_USER,
    BuildRun,
    ExportError,
    Image,
    Node,
    PhaseResult,
    Sandbox,
    diff_snapshots,
)
from .scenarios import BY_ID, NPM_LAYER, OPENSHIFT_BUILD, OPENSHIFT_RUN, SCENARIOS, Scenario

pytestmark = pytest.mark.skipif(not AS_ROOT, reason=f"the harness {NEEDS_ROOT}")


@dataclass(repr=False)
class Built:
    scenario: Scenario
    sandbox: Sandbox
    outside_before: dict[bytes, Node]
    outside_after: dict[bytes, Node]
    run: BuildRun
    image: Image
    untouched: Image

    @property
    def build(self) -> PhaseResult:
        assert self.run.build is not None, self.run.detect.describe()
        return self.run.build


def succeeded(run: BuildRun) -> PhaseResult:
    """The build's result, after checking that detect passed and the build succeeded."""
    assert run.detect.returncode == 0, run.detect.describe()
    assert run.build is not None
    assert run.build.returncode == 0, run.build.describe()
    return run.build


def build_scenario(scenario: Scenario) -> Iterator[Built]:
    with Sandbox(
        scenario.app,
        env=scenario.env,
        build_user=scenario.build_user,
        app_umask=scenario.app_umask,
        layers=scenario.layers,
        before=scenario.before,
    ) as sandbox:
        for result in sandbox.run_before():  # the group's earlier buildpacks
            assert result.returncode == 0, result.describe()
        before = sandbox.snapshot_outside()
        run = sandbox.run()
        after = sandbox.snapshot_outside()
        assert run.build is not None, run.detect.describe()
        assert run.build.returncode == 0, run.build.describe()
        yield Built(
            scenario, sandbox, before, after, run, sandbox.export(), sandbox.export_untouched()
        )


@pytest.fixture(scope="module", params=SCENARIOS, ids=[s.id for s in SCENARIOS])
def built(request: pytest.FixtureRequest) -> Iterator[Built]:
    yield from build_scenario(request.param)


# -- every scenario ------------------------------------------------------------------


def test_detect_passes_and_build_succeeds(built: Built) -> None:
    assert built.run.detect.returncode == 0, built.run.detect.describe()
    assert built.build.returncode == 0, built.build.describe()
    assert "Traceback" not in built.build.output


def test_run_user_can_write_exactly_the_declared_paths(built: Built) -> None:
    scenario = built.scenario
    image = built.image
    expected = scenario.expected_writable(image.app_paths())
    actual = image.probe_writable(scenario.run_user)
    assert actual == expected, (
        f"writable but not declared: {sorted(actual - expected)}; "
        f"declared but not writable: {sorted(expected - actual)}\n{built.build.stdout}"
    )


def test_nothing_outside_the_app_and_own_layers_changed(built: Built) -> None:
    assert diff_snapshots(built.outside_before, built.outside_after) == []
    own = sorted(os.listdir(built.sandbox.bp_layers_dir))
    assert own in ([], ["launch.toml"])


def test_warnings_are_the_expected_ones(built: Built) -> None:
    warnings = built.build.warnings
    if not built.scenario.warnings:
        assert warnings == [], built.build.stdout
    for expected in built.scenario.warnings:
        assert any(expected in warning for warning in warnings), (expected, warnings)


def test_missing_directories_are_created_and_label_lists_the_roots(built: Built) -> None:
    scenario = built.scenario
    before, after = built.untouched.app_paths(), built.image.app_paths()
    for path in scenario.created:
        assert path not in before
        assert path in after
        assert stat.S_ISDIR(built.image.mode(path))
    label = built.sandbox.launch_labels().get("writable-paths")
    if not scenario.declared:
        assert label is None
        return
    assert label is not None
    assert sorted(label) == sorted(str(built.sandbox.app_dir / root) for root in scenario.declared)


def test_exported_owner_is_the_build_user_and_shared_dirs_are_setgid(built: Built) -> None:
    user = built.scenario.build_user
    for root in built.scenario.declared:
        st = os.lstat(built.image.app_dir / root)
        assert (st.st_uid, st.st_gid) == (user.uid, user.gid)
        if stat.S_ISDIR(st.st_mode):
            assert st.st_mode & stat.S_ISGID
        assert not st.st_mode & stat.S_IWOTH


# -- single scenarios -------------------------------------------------------------------


def test_before_the_build_only_the_app_root_is_writable() -> None:
    """What the buildpack fixes: pack's 0777 /workspace, and nothing the app needs."""
    with Sandbox("rails") as sandbox:
        assert sandbox.export_untouched().probe_writable(RUN_USER) == {"."}


def test_no_configuration_changes_nothing_and_image_equals_a_build_without_it() -> None:
    with Sandbox("no-config") as sandbox:
        outside = sandbox.snapshot_outside()
        run = sandbox.run()
        assert run.detect.returncode == 0, run.detect.describe()
        assert run.build is not None
        assert run.build.returncode == 0, run.build.describe()
        assert "nothing to do" in run.build.stdout
        assert diff_snapshots(outside, sandbox.snapshot_outside()) == []
        assert os.listdir(sandbox.bp_layers_dir) == []
        built, untouched = sandbox.export(), sandbox.export_untouched()
        assert built.layer_tars == untouched.layer_tars  # byte for byte
        # pack's 0777 app root stays as it was: the buildpack did nothing.
        assert built.probe_writable() == untouched.probe_writable() == {"."}


def test_new_files_in_a_declared_dir_get_the_shared_group() -> None:
    scenario = BY_ID["shared-group-run-user"]
    user = scenario.run_user
    for built in build_scenario(scenario):
        entries = built.image.probe_new_entries("media", user)
        assert entries.directory_setgid
        assert entries.file_gid == BUILD_USER.gid != user.gid
        assert entries.subdir_gid == BUILD_USER.gid
        assert entries.subdir_setgid  # so nested upload dirs stay shared too
        # Control: the untouched app root (0777, no setgid) gives the user's own group.
        control = built.untouched.probe_new_entries(".", user)
        assert not control.directory_setgid
        assert control.file_gid == user.gid


def test_openshift_new_files_belong_to_gid_0() -> None:
    for built in build_scenario(BY_ID["openshift-gid-0"]):
        entries = built.image.probe_new_entries("tmp/pids", OPENSHIFT_RUN)
        assert (entries.directory_gid, entries.file_gid) == (0, 0)
        assert built.build.stdout.count("group 0,") == 1
        assert OPENSHIFT_BUILD.gid == 0


def test_building_twice_gives_the_same_image() -> None:
    with Sandbox("rails") as sandbox:
        succeeded(sandbox.run())
        once = sandbox.export()
        again = sandbox.build()
        assert again.returncode == 0, again.describe()
        assert sandbox.export().layer_tars == once.layer_tars


def test_settings_reach_the_buildpack_only_as_platform_files() -> None:
    with Sandbox("no-config", env={"BP_WRITABLE_PATHS": "/static/"}) as sandbox:
        run = sandbox.run()
        build = succeeded(run)
        for phase in (run.detect, build):
            assert not [name for name in phase.env if name.startswith("BP_")]
        assert (sandbox.platform_dir / "env" / "BP_WRITABLE_PATHS").read_text() == "/static/"
        assert "Writable: static" in build.stdout


def test_phases_run_like_the_lifecycle_runs_them() -> None:
    with Sandbox("rails") as sandbox:
        run = sandbox.run()
        assert run.build is not None
        detect, build = run.detect, run.build
        assert detect.command[-2:] == [str(sandbox.platform_dir), str(sandbox.detect_plan)]
        assert build.command[-3:] == [
            str(sandbox.bp_layers_dir),
            str(sandbox.platform_dir),
            str(sandbox.build_plan),
        ]
        assert detect.command[:2] == ["setpriv", f"--reuid={BUILD_USER.uid}"]
        assert "--clear-groups" in build.command
        common = {"PATH", "HOME", "CNB_BUILDPACK_DIR", "CNB_PLATFORM_DIR"}
        targets = {"CNB_TARGET_OS", "CNB_TARGET_ARCH"}
        targets |= {"CNB_TARGET_DISTRO_NAME", "CNB_TARGET_DISTRO_VERSION"}
        assert set(detect.env) == common | targets | {"CNB_BUILD_PLAN_PATH"}
        assert set(build.env) == common | targets | {"CNB_LAYERS_DIR", "CNB_BP_PLAN_PATH"}
        assert build.env["CNB_LAYERS_DIR"].endswith("/layers/" + BP_ID.replace("/", "_"))
        app = os.lstat(sandbox.untouched_app_dir)
        assert stat.S_IMODE(app.st_mode) == 0o777
        assert (app.st_uid, app.st_gid) == (BUILD_USER.uid, BUILD_USER.gid)


def test_export_fails_like_the_lifecycle_on_a_directory_the_build_user_cannot_read() -> None:
    with Sandbox("rails") as sandbox:
        secrets = sandbox.app_dir / "secrets"
        secrets.mkdir(mode=0)
        os.chown(secrets, BUILD_USER.uid, BUILD_USER.gid)
        os.chmod(secrets, 0)
        build = succeeded(sandbox.run())
        assert any("'secrets' cannot be read" in w for w in build.warnings)
        with pytest.raises(ExportError, match="Permission denied"):
            sandbox.export()


def _unreadable_secrets(pattern: str) -> tuple[Sandbox, BuildRun]:
    sandbox = Sandbox("rails", env={"BP_WRITABLE_PATHS": pattern})
    secrets = sandbox.app_dir / "secrets"
    secrets.mkdir()
    os.chown(secrets, BUILD_USER.uid, BUILD_USER.gid)
    os.chmod(secrets, 0)
    return sandbox, sandbox.run()


def test_selecting_an_unreadable_directory_by_glob_makes_the_image_exportable() -> None:
    sandbox, run = _unreadable_secrets("/secret*/")
    with sandbox:
        succeeded(run)
        assert "secrets" in sandbox.export().probe_writable()


def test_selecting_an_unreadable_directory_by_name_makes_the_image_exportable() -> None:
    sandbox, run = _unreadable_secrets("/secrets/")
    with sandbox:
        succeeded(run)
        assert "secrets" in sandbox.export().probe_writable()


def test_world_writable_sources_are_writable_everywhere_before_the_build() -> None:
    scenario = BY_ID["world-writable-strict"]
    with Sandbox(scenario.app, app_umask=scenario.app_umask) as sandbox:
        untouched = sandbox.export_untouched()
        assert untouched.probe_writable() == untouched.app_paths()


def test_exporter_forces_the_build_users_ids_and_keeps_modes() -> None:
    """The model of the exporter itself: a chgrp at build time does not survive, setgid
    and sticky bits do, every mtime is 1980-01-01, symlinks stay symlinks."""
    with Sandbox("rails") as sandbox:
        odd = sandbox.app_dir / "public" / "odd"
        odd.mkdir()
        os.chown(odd, 4242, 4343)
        os.chmod(odd, 0o3775)
        (sandbox.app_dir / "public" / "latest").symlink_to("robots.txt")
        image = sandbox.export_untouched()  # the untouched copy has neither
        assert not os.path.lexists(image.app_dir / "public" / "odd")
        image = sandbox.export()
        st = os.lstat(image.app_dir / "public" / "odd")
        assert (st.st_uid, st.st_gid) == (BUILD_USER.uid, BUILD_USER.gid)
        assert stat.S_IMODE(st.st_mode) == 0o3775
        assert os.readlink(image.app_dir / "public" / "latest") == "robots.txt"
        assert os.lstat(image.app_dir / "Gemfile").st_mtime == 315532801
        with tarfile.open(fileobj=io.BytesIO(image.layer_tars["app"])) as tar:
            assert {(m.uid, m.gid) for m in tar.getmembers()} == {(1001, 1000)}
            assert {m.mtime for m in tar.getmembers()} == {315532801}


def test_hard_links_are_exported_as_separate_files() -> None:
    with Sandbox("rails") as sandbox:
        os.link(sandbox.app_dir / "Gemfile", sandbox.app_dir / "Gemfile.copy")
        succeeded(sandbox.run())
        image = sandbox.export()
        a, b = os.lstat(image.app_dir / "Gemfile"), os.lstat(image.app_dir / "Gemfile.copy")
        assert a.st_ino != b.st_ino
        assert a.st_nlink == b.st_nlink == 1


def test_the_other_buildpacks_layer_is_exported_untouched() -> None:
    for built in build_scenario(BY_ID["node-modules-symlink"]):
        link = built.image.app_dir / "node_modules"
        assert os.readlink(link).startswith(str(built.image.root) + "/layers/")
        assert (link / "express" / "package.json").is_file()
        assert not (link / ".cache").exists()
        layer_paths = {p for p in built.image.entries() if p.startswith("/layers/")}
        assert layer_paths
        assert not layer_paths & built.image.probe_writable()
        assert f"/layers/{NPM_LAYER.dir_name}/{NPM_LAYER.name}" in layer_paths


def test_a_symlink_a_pattern_reaches_through_is_warned_about_once() -> None:
    for built in build_scenario(BY_ID["node-modules-symlink"]):
        symlink_warnings = [w for w in built.build.warnings if "is a symlink" in w]
        assert len(symlink_warnings) == 1, symlink_warnings
