"""The patterns each framework needs at run time, and where the framework says so.

Pure data. Every pattern is anchored (a leading ``/``, or a ``/`` in the middle) so
that it selects the app's own directory and never one of the same name inside a
dependency. ``starter`` picks the presets that apply and adds what it reads from
the app (``app_readers``); the text here is what ``init`` writes as comments.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """One pattern line of a starter: the pattern and what the app writes there."""

    pattern: str
    why: str
    active: bool = True  # False: written commented out (many apps, not all, need it)


# Rails. tmp/pids, tmp/cache, tmp/sockets: the directories `bin/rails tmp:create`
# makes (rails/rails:railties/lib/rails/tasks/tmp.rake); Puma's default pid file is
# tmp/pids/server.pid (rails/rails:railties/lib/rails/commands/server/server_command.rb);
# the log directory is config.paths["log"]
# (rails/rails:railties/lib/rails/application/configuration.rb).
RAILS = (
    Line("/tmp/pids/", "the server's pid file (tmp/pids/server.pid)"),
    Line("/tmp/cache/", "Rails' file cache store and bootsnap's cache"),
    Line("/tmp/sockets/", "Puma's control and listen sockets, when configured"),
    Line("/log/", "log files, unless RAILS_LOG_TO_STDOUT is set"),
)
# Active Storage's Disk service keeps files under its `root:`
# (rails/rails:activestorage/lib/active_storage/service/disk_service.rb).
RAILS_DISK = "Active Storage's Disk service '{service}' (config/storage.yml{used})"
RAILS_SQLITE = (
    "the SQLite database {database} (config/database.yml, production); "
    "SQLite writes a journal beside it"
)

# Laravel: "Directories within the storage and the bootstrap/cache directories should
# be writable by your web server" (laravel/docs:installation.md, "Directory Permissions").
LARAVEL = (
    Line("/storage/app/", "files stored with the local and public disks"),
    Line("/storage/framework/", "the file cache, sessions and compiled Blade views"),
    Line("/storage/logs/", "the log files (storage/logs/laravel.log)"),
    Line("/bootstrap/cache/", "the cached config, routes, services and packages"),
)

# Symfony: var/cache and var/log must be writable by the web server
# (symfony/symfony-docs:setup/file_permissions.rst).
SYMFONY = (
    Line("/var/cache/", "the compiled container, routes and the cache pools"),
    Line("/var/log/", "the kernel's log files"),
)
SYMFONY_SQLITE = (
    "the SQLite database {database} (DATABASE_URL in .env); SQLite writes a journal beside it"
)

# WordPress: uploads go to wp-content/uploads (WordPress/WordPress:wp-includes/functions.php,
# wp_upload_dir); caching plugins write wp-content/cache (advanced-cache.php, WP_CACHE).
WORDPRESS = (
    Line("{root}wp-content/uploads/", "the media library's uploads"),
    Line("{root}wp-content/cache/", "page caches written by caching plugins", active=False),
)

# Drupal: the public file system path is sites/default/files and must be writable
# (drupal/drupal:core/assets/scaffold/files/default.settings.php, file_public_path).
DRUPAL = (
    Line(
        "{root}sites/default/files/", "public files: uploads, aggregated CSS and JS, image styles"
    ),
)

# Django: MEDIA_ROOT holds uploaded files (django/django:docs/ref/settings.txt, MEDIA_ROOT).
DJANGO_MEDIA = "uploaded files (MEDIA_ROOT in {settings})"
DJANGO_MEDIA_DEFAULT = Line(
    "/media/", "uploaded files (MEDIA_ROOT: not read from the settings; change this line to yours)"
)
DJANGO_SQLITE = (
    "the SQLite database {database} ({settings}); SQLite writes a journal beside it, "
    "so its directory must be writable"
)

# Flask: the instance folder sits next to the app's module or package
# (pallets/flask:docs/config.rst, "Instance Folders").
FLASK = (Line("/instance/", "the instance folder (app.instance_path): a SQLite database, uploads"),)

# Next.js: `next start` writes the image optimisation and fetch caches to .next/cache
# (vercel/next.js:docs/01-app/02-guides/self-hosting.mdx, "Caching and ISR").
NEXT = (Line("/.next/cache/", "the image optimisation and fetch caches"),)
# App Router: ISR and on-demand revalidation rewrite the prerendered pages in
# .next/server/app
# (vercel/next.js:packages/next/src/server/lib/incremental-cache/file-system-cache.ts).
NEXT_APP = Line(
    "/.next/server/app/", "prerendered App Router pages that ISR regenerates ({router})"
)

# Nuxt 3: Nitro's node presets mount the `data` storage on .data/kv (unjs/nitro#1352).
NUXT = (Line("/.data/", "Nitro's default `data` storage (.data/kv), when the app uses it"),)

# Spring Boot logs to the console only unless logging.file.name or logging.file.path
# is set ("File Output", spring-projects/spring-boot:spring-boot-project/spring-boot-docs/
# src/docs/antora/modules/reference/pages/features/logging.adoc).
SPRING_PATH = "log files (logging.file.path in {source}: Spring Boot writes spring.log there)"
SPRING_NAME = "the log file {name} (logging.file.name in {source}) and its rotated copies"

# nginx with Paketo's nginx buildpack: its build makes nginx.conf and the .conf files it
# includes group-writable, and at every start its configure step writes the rendered
# templates back over them (paketo-buildpacks/nginx:build.go,
# cmd/configure/internal/run.go). Overwritten in place, so the files, not their
# directory, must be writable.
NGINX_CONF = Line("/nginx.conf", "the configuration Paketo's nginx renders at every start")
NGINX_INCLUDE = "the files nginx.conf includes ({glob}), rendered at every start too"

# Strapi: the local upload provider writes public/uploads
# (strapi/strapi:packages/providers/upload-local/src/index.ts); the quick-start SQLite
# database is .tmp/data.db (the generated config/database.js).
STRAPI = (
    Line("{root}public/uploads/", "files uploaded with the local upload provider"),
    Line("{root}.tmp/", "the quick-start SQLite database (.tmp/data.db)"),
)

# Ghost keeps its data, images, logs and themes under the content path
# (TryGhost/Ghost:ghost/core/core/shared/config/defaults.json, paths.contentPath).
GHOST = "images, themes, logs and the SQLite database (the content path{source})"
