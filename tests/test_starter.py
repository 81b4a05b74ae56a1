"""``writable-paths init`` on fixture apps shaped like real public apps, and the
readers for the literal values apps declare."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from writable_paths.cli import app_readers, starter
from writable_paths.cli import main as cli
from writable_paths.core.patterns import parse_file

FIXTURES = Path(__file__).parent / "fixtures" / "apps"
BP_VARS = ("BP_WRITABLE_PATHS", "BP_WRITABLE_PATHS_FILE", "BP_WRITABLE_PATHS_STRICT")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in BP_VARS:
        monkeypatch.delenv(name, raising=False)


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def patterns_of(path: Path) -> list[str]:
    return [p.source.text for p in parse_file(path.read_bytes(), ".writable-paths").patterns]


def commented(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("# /")]


EXPECTED = {
    "rails": (
        "Rails",
        ["/tmp/pids/", "/tmp/cache/", "/tmp/sockets/", "/log/", "/storage/files/", "/storage/db/"],
    ),
    "laravel": (
        "Laravel",
        ["/storage/app/", "/storage/framework/", "/storage/logs/", "/bootstrap/cache/"],
    ),
    "symfony": ("Symfony", ["/var/cache/", "/var/log/", "/data/"]),
    "wordpress": ("WordPress", ["/wp-content/uploads/"]),
    "drupal": ("Drupal", ["/web/sites/default/files/"]),
    "django": ("Django", ["/mysite/media/", "/data/"]),
    "flask": ("Flask", ["/instance/"]),
    "nextjs": ("Next.js", ["/.next/cache/", "/.next/server/app/"]),
    "nuxt": ("Nuxt", ["/.data/"]),
    "spring-boot": ("Spring Boot", ["/logs/", "/audit/"]),
    "strapi": ("Strapi", ["/public/uploads/", "/.tmp/"]),
    "ghost": ("Ghost", ["/content/"]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_init_writes_the_framework_lines_for_each_fixture_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    framework, expected = EXPECTED[name]
    app = tmp_path / name
    shutil.copytree(FIXTURES / name, app, symlinks=True)
    assert cli.main(["init", str(app)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"Recognised {framework} (")
    written = app / ".writable-paths"
    assert patterns_of(written) == expected
    text = written.read_text()
    # Every line is a comment, blank or one of the patterns: gitignore has no
    # end-of-line comments, so a comment after a pattern would become part of it.
    for line in text.splitlines():
        assert line == "" or line.startswith("#") or line in expected
    # Every pattern is anchored, so a dependency's directory of the same name is
    # never selected.
    assert all(p.startswith("/") for p in expected)
    # The starter is a valid configuration for the build.
    assert cli.main(["check", str(app)]) == 0
    capsys.readouterr()


def test_rails_storage_disk_service_not_used_in_production_is_commented(tmp_path: Path) -> None:
    app = write(
        tmp_path,
        {
            "Gemfile": "gem 'rails'\n",
            "config/application.rb": "",
            "config/storage.yml": "test:\n  service: Disk\n  root: tmp/storage\n"
            'local:\n  service: Disk\n  root: <%= Rails.root.join("storage") %>\n'
            "amazon:\n  service: S3\n  bucket: b\n",
            "config/environments/production.rb": "  config.active_storage.service = :amazon\n",
        },
    )
    (rails,) = starter.recognise(str(app))
    assert rails.patterns == ("/tmp/pids/", "/tmp/cache/", "/tmp/sockets/", "/log/")
    text = starter.render([rails])
    assert commented(text) == ["/storage/"]
    assert "Disk service 'local' (config/storage.yml, not the production service)" in text
    assert "tmp/storage" not in text  # the test service never runs in the image


def test_rails_values_outside_the_app_or_not_literal_are_skipped(tmp_path: Path) -> None:
    app = write(
        tmp_path,
        {
            "Gemfile": "",
            "config/application.rb": "",
            "config/storage.yml": "local:\n  service: Disk\n  root: /srv/files\n"
            "other:\n  service: Disk\n  root: <%= ENV['STORAGE_ROOT'] %>\n"
            'up:\n  service: Disk\n  root: <%= Rails.root.join("..", "shared") %>\n',
            "config/database.yml": "production:\n  database: <%= ENV['DB'] %>\n",
        },
    )
    assert app_readers.rails_disk_services(str(app)) == []
    assert app_readers.rails_sqlite_databases(str(app)) == []


def test_rails_sqlite_database_at_the_app_root_is_a_note_not_a_pattern(tmp_path: Path) -> None:
    app = write(
        tmp_path,
        {
            "Gemfile": "",
            "config/application.rb": "",
            "config/database.yml": "production:\n  adapter: sqlite3\n  database: prod.sqlite3\n",
        },
    )
    (rails,) = starter.recognise(str(app))
    assert "/prod.sqlite3" not in starter.render([rails])
    assert any("prod.sqlite3" in note and "app root" in note for note in rails.notes)


def test_django_reads_os_path_settings_without_running_them(tmp_path: Path) -> None:
    # Shaped like wagtail/bakerydemo: PROJECT_DIR from os.path.dirname(...), the
    # database name from an os.environ default, settings split with star imports.
    marker = tmp_path / "executed"
    app = write(
        tmp_path / "app",
        {
            "manage.py": 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site1.settings.dev")\n',
            "site1/settings/__init__.py": "",
            "site1/settings/base.py": "import os\n"
            f"open({str(marker)!r}, 'w').write('ran')\n"
            "PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))\n"
            "BASE_DIR = os.path.dirname(PROJECT_DIR)\n"
            "if 'DATABASE_URL' in os.environ:\n    DATABASES = {}\nelse:\n"
            "    DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',\n"
            "        'NAME': os.path.join(BASE_DIR, os.environ.get('DB_NAME', 'site1db'))}}\n"
            "MEDIA_ROOT = os.path.join(PROJECT_DIR, 'media')\n",
            "site1/settings/dev.py": "from .base import *  # noqa\nDEBUG = True\n",
        },
    )
    found = app_readers.django_paths(str(app))
    assert found is not None
    assert found.settings == "site1/settings/dev.py"
    assert found.media_root == "site1/media"
    assert found.databases == ("site1db",)
    assert found.from_env
    assert not marker.exists()
    (django,) = starter.recognise(str(app))
    assert django.patterns == ("/site1/media/",)
    assert any("site1db" in n and "app root" in n for n in django.notes)


def test_django_media_root_outside_the_app_falls_back_with_a_note(tmp_path: Path) -> None:
    # Shaped like django/djangoproject.com: MEDIA_ROOT under a data dir above the app.
    app = write(
        tmp_path / "app",
        {
            "manage.py": "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n",
            "proj/settings.py": "from pathlib import Path\n"
            "BASE_DIR = Path(__file__).resolve().parent.parent\n"
            "MEDIA_ROOT = BASE_DIR.parent / 'media_root'\n",
        },
    )
    (django,) = starter.recognise(str(app))
    assert django.patterns == ("/media/",)
    assert any("could not be read" in note for note in django.notes)


def test_django_unparsable_settings_do_not_fail_init(tmp_path: Path) -> None:
    app = write(
        tmp_path,
        {
            "manage.py": "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n",
            "proj/settings.py": "MEDIA_ROOT = (\n",
        },
    )
    (django,) = starter.recognise(str(app))
    assert django.patterns == ("/media/",)


def test_spring_boot_properties_and_console_only_logging(tmp_path: Path) -> None:
    app = write(
        tmp_path,
        {
            "build.gradle.kts": 'plugins { id("org.springframework.boot") version "3.4.0" }\n'
            'dependencies { implementation("org.springframework.boot:spring-boot-starter") }\n',
            "src/main/resources/application.properties": "# logs\n"
            "logging.file.name=var/log/app.log\nlogging.file.path=${LOG_DIR}\n",
        },
    )
    (spring,) = starter.recognise(str(app))
    assert spring.patterns == ("/var/log/",)
    (tmp_path / "src/main/resources/application.properties").write_text("server.port=8080\n")
    (spring,) = starter.recognise(str(app))
    assert spring.patterns == ()
    assert "console only" in spring.notes[0]


def test_nginx_conf_and_the_conf_files_it_includes(tmp_path: Path) -> None:
    app = write(
        tmp_path,
        {
            "nginx.conf": "http {\n  include mime.types;\n  include conf.d/*.conf;\n"
            "  include /etc/nginx/extra.conf;\n  include ../shared.conf;\n"
            "  include  conf.d/*.conf;\n  server { include site.conf; }\n}\n",
            "conf.d/gzip.conf": "gzip on;\n",
            "site.conf": "listen {{port}};\n",
            "mime.types": "types { text/html html; }\n",
        },
    )
    (nginx,) = starter.recognise(str(app))
    assert nginx.name == "nginx (Paketo)"
    # What Paketo's nginx renders: nginx.conf and the .conf includes inside the app
    # (mime.types is no .conf file, so it is neither rendered nor selected).
    assert nginx.patterns == ("/nginx.conf", "/conf.d/*.conf", "/site.conf")
    assert starter.recognise(str(write(tmp_path / "other", {"conf/nginx.conf": ""}))) == []


def test_yaml_reader_keeps_nesting_and_skips_what_is_not_a_plain_scalar() -> None:
    values = app_readers.yaml_scalars(
        "a:\n  b:\n    c: 'x y'  # comment\n  d: [1, 2]\n  e: |\n    text\n"
        "f.g: h # note\n- item\n---\na:\n  b:\n    c: z\n"
    )
    assert values == {"a.b.c": "z", "f.g": "h"}


def test_a_symlinked_config_file_is_not_read(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"storage.yml": "local:\n  service: Disk\n  root: up\n"})
    app = write(tmp_path / "app", {"Gemfile": "", "config/application.rb": ""})
    (app / "config/storage.yml").symlink_to(outside / "storage.yml")
    assert app_readers.rails_disk_services(str(app)) == []


def test_nothing_recognised_names_every_framework(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"main.go": "package main\n"})
    assert cli.main(["init", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Recognised no framework (Rails, Laravel, Symfony, WordPress, Drupal, Django" in out


def test_hostile_settings_and_config_files_fall_back_without_a_traceback(tmp_path: Path) -> None:
    deep = "BASE_DIR = 'x'\nMEDIA_ROOT = BASE_DIR" + " / 'a'" * 100_000 + "\n"
    app = write(
        tmp_path / "django",
        {
            "manage.py": "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n",
            "proj/settings.py": deep,
        },
    )
    (django,) = starter.recognise(str(app))
    assert django.patterns == ("/media/",)
    # A 1 MiB line without a colon, and bytes that are not UTF-8.
    rails = write(tmp_path / "rails", {"Gemfile": "", "config/application.rb": ""})
    (rails / "config/storage.yml").write_bytes(b"a" + b" " * (1024 * 1024) + b"\xff\n")
    assert app_readers.rails_disk_services(str(rails)) == []
    (found,) = starter.recognise(str(rails))
    assert found.patterns == ("/tmp/pids/", "/tmp/cache/", "/tmp/sockets/", "/log/")
