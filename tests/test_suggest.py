"""``writable-paths suggest`` on log excerpts written the way the runtimes print them."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from writable_paths.cli import main as cli
from writable_paths.cli import suggest
from writable_paths.core.patterns import parse_file

LOGS = Path(__file__).parent / "fixtures" / "logs"
APPS = Path(__file__).parent / "fixtures" / "apps"
SCRIPT = Path(sys.executable).parent / "writable-paths"
BP_VARS = ("BP_WRITABLE_PATHS", "BP_WRITABLE_PATHS_FILE", "BP_WRITABLE_PATHS_STRICT")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in BP_VARS:
        monkeypatch.delenv(name, raising=False)


def proposal(
    log: str, databases: tuple[str, ...] = (), known: tuple[suggest.Known, ...] = ()
) -> suggest.Proposal:
    hits = suggest.scan((LOGS / log).read_text().splitlines())
    return suggest.propose(hits, "/workspace", databases, known)


def patterns(items: list[suggest.Suggestion]) -> list[str]:
    return [item.pattern for item in items]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def app_from(tmp_path: Path, name: str) -> Path:
    app = tmp_path / name
    shutil.copytree(APPS / name, app, symlinks=True)
    return app


def selected_lines(path: Path) -> list[str]:
    return [p.source.text for p in parse_file(path.read_bytes(), path.name).patterns]


# -- the pure part: one log kind each ---------------------------------------------


@pytest.mark.parametrize(
    ("log", "expected", "outside"),
    [
        ("rails-puma.log", ["/log/", "/tmp/cache/assets/", "/tmp/pids/"], ["/tmp/ruby-tmp"]),
        (
            "next-node.log",
            ["/.next/cache/fetch-cache/", "/.next/cache/images/", "/.next/server/app/"],
            ["/home/cnb/.npm/_cacache"],
        ),
        (
            "laravel.log",
            [
                "/bootstrap/cache/",
                "/storage/framework/sessions/",
                "/storage/framework/views/",
                "/storage/logs/",
            ],
            [],
        ),
        ("django.log", ["/mysite/media/images/2026/12/"], []),
        ("spring-boot.log", ["/data/", "/logs/"], []),
        ("nginx.log", ["/logs/nginx/", "/tmp/client_body_temp/"], ["/var/run/nginx.pid"]),
    ],
)
def test_each_runtime_s_permission_errors_become_directory_patterns(
    log: str, expected: list[str], outside: list[str]
) -> None:
    result = proposal(log)
    assert patterns(result.suggestions) == expected
    assert [path for path, _ in result.outside] == outside
    assert result.volumes == []


def test_the_directory_is_proposed_for_a_file_and_the_reason_says_why() -> None:
    result = proposal("rails-puma.log")
    pids = next(s for s in result.suggestions if s.pattern == "/tmp/pids/")
    # The pid file is opened at line 11 and removed at line 21: one line, both reasons.
    assert pids.lines == [11, 21]
    assert pids.runtimes == ["Ruby"]
    assert "'server.pid' in 'tmp/pids'" in pids.reason
    assert "the directory is selected, not the file" in pids.reason
    mkdir = next(s for s in result.suggestions if s.pattern == "/tmp/cache/assets/")
    assert "creates the directory 'tmp/cache/assets'" in mkdir.reason
    assert mkdir.lines == [18, 19]


def test_read_only_file_system_errors_become_volumes_not_patterns() -> None:
    result = proposal("read-only-fs.log")
    assert result.suggestions == []
    assert patterns(result.volumes) == [
        "/.next/cache/images/abc/",
        "/logs/",
        "/media/",
        "/tmp/pids/",
    ]


def test_sqlite_readonly_database_uses_the_database_the_app_declares() -> None:
    without = proposal("django.log")
    assert len(without.hints) == 1  # two messages of the same kind: one note
    assert "SQLite cannot write its database" in without.hints[0]
    with_db = proposal("django.log", databases=("data/db.sqlite3",))
    assert "/data/" in patterns(with_db.suggestions)
    assert with_db.hints == []


def test_a_path_inside_a_framework_directory_selects_that_directory() -> None:
    known = (suggest.Known("mysite/media", "Django", "uploaded files"),)
    result = proposal("django.log", known=known)
    assert patterns(result.suggestions) == ["/mysite/media/"]
    reason = result.suggestions[0].reason
    assert "'mysite/media/images/2026/12/cover.jpg', inside 'mysite/media/'" in reason
    assert "which Django writes to (uploaded files)" in reason


def test_duplicates_merge_and_nested_directories_fold_into_the_outer_one() -> None:
    lines = [
        "Error: EACCES: permission denied, open '/workspace/var/a/b/c.txt'",
        "Error: EACCES: permission denied, mkdir '/workspace/var/a'",
        "Error: EACCES: permission denied, open '/workspace/var/a/b/c.txt'",
        "Error: EACCES: permission denied, open '/workspace/var/z.txt'",
    ]
    result = suggest.propose(suggest.scan(lines), "/workspace")
    by = {s.pattern: s.lines for s in result.suggestions}
    # /var/ (for z.txt) holds var/a and var/a/b: one line selects all of them.
    assert by == {"/var/": [1, 2, 3, 4]}


def test_app_root_files_relative_paths_and_other_app_paths() -> None:
    lines = [
        "PermissionError: [Errno 13] Permission denied: '/srv/app/db.sqlite3'",
        "java.io.FileNotFoundException: logs/app.log (Permission denied)",
        "PermissionError: [Errno 13] Permission denied: '/srv/app/../etc/x'",
        "PermissionError: [Errno 13] Permission denied: '/srv/app'",
        "PermissionError: [Errno 13] Permission denied: '/srv/application/x'",
    ]
    result = suggest.propose(suggest.scan(lines), "/srv/app/")
    assert patterns(result.suggestions) == ["/db.sqlite3", "/logs/"]
    assert "always stays read-only" in result.suggestions[0].reason
    assert [p for p, _ in result.outside] == ["/srv/app/../etc/x", "/srv/application/x"]


def test_wildcards_in_paths_are_escaped_so_the_pattern_is_literal() -> None:
    lines = ["Error: EACCES: permission denied, open '/workspace/up[1]/a*b/x'"]
    (item,) = suggest.propose(suggest.scan(lines), "/workspace").suggestions
    assert item.pattern == "/up\\[1]/a\\*b/"
    (pattern,) = parse_file((item.pattern + "\n").encode(), "x").patterns
    assert pattern.source.text == item.pattern


def test_lines_that_are_not_permission_errors_give_nothing() -> None:
    lines = [
        "GET /storage/logs 200",
        "ENOENT: no such file or directory, open '/workspace/x'",
        "Permission denied (publickey).",
    ]
    assert suggest.scan(lines) == []


# -- the command ---------------------------------------------------------------------


def test_suggest_prints_lines_with_reasons_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_from(tmp_path, "rails")
    code, out, err = run(capsys, "suggest", str(LOGS / "rails-puma.log"), "--app", str(app))
    assert (code, err) == (0, "")
    assert out.startswith("writable-paths suggest: 6 permission errors in ")
    # The Rails app is recognised: tmp/cache/assets is inside Rails' /tmp/cache/.
    assert "Lines to add to .writable-paths:\n  /log/\n" in out
    assert "\n  /tmp/cache/\n" in out
    assert "\n  /tmp/pids/\n" in out
    assert "Ignored: outside the app directory /workspace" in out
    assert "Run again with --write" in out
    assert not (app / ".writable-paths").exists()


def test_suggest_write_appends_once_and_skips_what_is_already_selected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_from(tmp_path, "laravel")
    (app / ".writable-paths").write_text("/storage/logs/")  # no final newline
    log = str(LOGS / "laravel.log")
    code, out, _ = run(capsys, "suggest", log, "--app", str(app), "--write")
    assert code == 0
    assert "Already writable" in out
    assert "/storage/logs/  selected by .writable-paths:1:/storage/logs/" in out
    assert "Appended 2 lines to .writable-paths." in out
    written = app / ".writable-paths"
    assert selected_lines(written) == ["/storage/logs/", "/bootstrap/cache/", "/storage/framework/"]
    assert "# Added by writable-paths suggest from" in written.read_text()
    before = written.read_bytes()
    code, out, _ = run(capsys, "suggest", log, "--app", str(app), "--write")
    assert code == 0
    assert "Nothing to write" in out
    assert written.read_bytes() == before
    code, _, _ = run(capsys, "check", "--strict-warnings", str(app))
    assert code == 0


def test_suggest_write_uses_the_configured_pattern_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_from(tmp_path, "spring-boot")
    (app / "config").mkdir()
    (app / "config/writable").write_text("# ours\n")
    monkeypatch.setenv("BP_WRITABLE_PATHS_FILE", "config/writable")
    code, out, _ = run(
        capsys, "suggest", str(LOGS / "spring-boot.log"), "--app", str(app), "--write"
    )
    assert code == 0
    assert "Appended 2 lines to config/writable." in out
    assert selected_lines(app / "config/writable") == ["/data/", "/logs/"]
    assert not (app / ".writable-paths").exists()


def test_suggest_sqlite_error_finds_the_django_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_from(tmp_path, "django")
    code, out, _ = run(capsys, "suggest", str(LOGS / "django.log"), "--app", str(app))
    assert code == 0
    assert "\n  /data/\n" in out
    assert "\n  /mysite/media/\n" in out
    assert "/mysite/media/images" not in out


def test_suggest_reads_standard_input(tmp_path: Path) -> None:
    app = app_from(tmp_path, "nextjs")
    result = subprocess.run(
        [str(SCRIPT), "suggest", "-", "--app", str(app)],
        input=(LOGS / "next-node.log").read_bytes(),
        capture_output=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in BP_VARS},
    )
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "in standard input" in out
    # Inside the directories Next.js writes: the framework's own lines.
    assert "\n  /.next/cache/\n" in out
    assert "\n  /.next/server/app/\n" in out


def test_suggest_read_only_file_system_points_at_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_from(tmp_path, "rails")
    (app / ".writable-paths").write_text("/tmp/pids/\n")
    code, out, _ = run(capsys, "suggest", str(LOGS / "read-only-fs.log"), "--app", str(app))
    assert code == 0
    assert "Lines to add" not in out
    assert "  /workspace/tmp/pids\n" in out
    assert "selected by .writable-paths:1:/tmp/pids/: 'writable-paths manifest" in out
    assert "not selected yet: add /logs/ to .writable-paths" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.log"], "ERROR: Cannot read the log missing.log"),
        (["-", "--app-path", "workspace"], "ERROR: Invalid --app-path"),
    ],
)
def test_suggest_bad_input_exits_1_with_a_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    code, _, err = run(capsys, "suggest", *argv)
    assert code == 1
    assert err.startswith(message)
    assert "Traceback" not in err


def test_suggest_write_never_follows_a_symlinked_pattern_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    target = tmp_path / "elsewhere"
    target.write_text("")
    (app / "custom").symlink_to(target)
    monkeypatch.setenv("BP_WRITABLE_PATHS_FILE", "custom")
    code, _, err = run(capsys, "suggest", str(LOGS / "nginx.log"), "--app", str(app), "--write")
    assert code == 1
    assert err.startswith("ERROR: ")
    assert target.read_text() == ""


def test_suggest_with_no_permission_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "ok.log"
    log.write_text("Listening on http://0.0.0.0:8080\n")
    code, out, _ = run(capsys, "suggest", str(log), "--app", str(tmp_path))
    assert code == 0
    assert out.startswith("No permission errors found in ")


def test_a_log_that_is_not_utf8_is_read_with_replacements(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "bin.log"
    log.write_bytes(
        b"\xff\xfe garbage \x00\n"
        b"Error: EACCES: permission denied, open '/workspace/caf\xe9/x.txt'\n"
        b"PermissionError: [Errno 13] Permission denied: '/workspace/uploads/a.png'\n"
    )
    code, out, err = run(capsys, "suggest", str(log), "--app", str(tmp_path))
    assert (code, err) == (0, "")
    assert "\n  /uploads/\n" in out
    assert "caf\ufffd" in out  # the undecodable byte is shown replaced, not dropped
