"""What the tag workflow (``.github/workflows/release.yml``) asks of the repository.

    python package/release.py check-tag v0.2.0
        the tag names buildpack.toml's version, and CHANGELOG.md has a released entry for it
    python package/release.py check-on-branch main
        the checked-out commit (the tag's) is on origin/<branch>, so that only what was
        merged can be released
    python package/release.py notes 0.2.0
        that entry's text, the GitHub release's description
    python package/release.py registry-request --address HOST/PATH@sha256:... --body-file F
        prints the title of the Buildpack Registry request and writes its body to F

Every failure is one line on stderr naming the file (and line) and what to do, and exit 1.
Standard library only (Python 3.11+, tomllib): the publish jobs run it with the runner's
python3, before and without ``make install``. The registry's rules are in
docs/releasing.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parent.parent

#: The Buildpack Registry's id: one ``/`` between a namespace and a name, each of
#: ``[a-z0-9.-]{1,253}`` (buildpacks/spec: extensions/buildpack-registry.md).
REGISTRY_PART = re.compile(r"[a-z0-9.-]{1,253}")
#: Namespaces the registry refuses (buildpacks/github-actions:
#: registry/internal/namespace/namespace.go).
RESTRICTED_NAMESPACES = frozenset(
    {
        *("buildpack", "buildpack-io", "buildpack.io", "buildpackio"),
        *("buildpacks", "buildpacks-io", "buildpacks.io"),
        *("cnb", "cnbs", "cncf", "cncf-cnb", "cncf-cnbs"),
        *("example", "examples", "official", "pack", "sample", "samples"),
    }
)
#: Semantic versioning 2.0.0: MAJOR.MINOR.PATCH, no leading zeros, optional
#: -pre-release and +build parts.
_NUMBER = r"(?:0|[1-9][0-9]*)"
_PRE_PART = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER = re.compile(
    rf"{_NUMBER}\.{_NUMBER}\.{_NUMBER}"
    rf"(?:-{_PRE_PART}(?:\.{_PRE_PART})*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
#: An image by digest, as the registry's index stores it: a registry host with a dot,
#: a lowercase repository path, ``@sha256:`` and 64 hex digits; never a tag.
IMAGE_BY_DIGEST = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?::[0-9]+)?"
    r"/[a-z0-9]+(?:[._/-][a-z0-9]+)*@sha256:[0-9a-f]{64}"
)
#: ``## 0.2.0``, ``## 0.2.0 (2026-12-02)``, ``## [0.2.0] - 2026-12-02``.
CHANGELOG_HEADING = re.compile(r"## +\[?(?P<version>[^\]\s]+)\]?(?P<rest>.*)")


class ReleaseError(Exception):
    """A release cannot go on; the message says what to do."""


@dataclass(frozen=True)
class Buildpack:
    id: str
    version: str


def read_buildpack(root: Path) -> Buildpack:
    path = root / "buildpack.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ReleaseError(f"{path}: cannot read it ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ReleaseError(f"{path}: not valid TOML ({error})") from None
    table = data.get("buildpack")
    fields = {key: table.get(key) if isinstance(table, dict) else None for key in ("id", "version")}
    for key, value in fields.items():
        if not isinstance(value, str) or not value:
            raise ReleaseError(f'{path}: [buildpack] has no {key} string: add {key} = "..."')
    return Buildpack(id=str(fields["id"]), version=str(fields["version"]))


def check_tag(root: Path, tag: str) -> Buildpack:
    buildpack = read_buildpack(root)
    expected = f"v{buildpack.version}"
    if tag != expected:
        raise ReleaseError(
            f"tag {tag!r} does not match buildpack.toml's version {buildpack.version!r}"
            f" (the tag for it is {expected}): delete the tag (git push --delete origin {tag}),"
            " or set that version in buildpack.toml, pyproject.toml and package.toml's uri,"
            " add its CHANGELOG.md entry, commit, and tag that commit"
        )
    changelog_entry(root, buildpack.version)
    return buildpack


def check_on_branch(root: Path, branch: str) -> str:
    """The commit checked out in ``root`` is ``origin/<branch>`` or one of its ancestors.
    The checkout belongs to another user on GitHub's container jobs (the runner's), so
    git is told that this one directory is safe."""
    remote = f"origin/{branch}"
    git = ["git", "-c", f"safe.directory={root}", "-C", str(root)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--verify", "HEAD"], capture_output=True, text=True, check=False
        )
        if head.returncode != 0:
            raise ReleaseError(f"{root}: not a git checkout ({head.stderr.strip()})")
        known = subprocess.run(
            [*git, "rev-parse", "--verify", "--quiet", f"refs/remotes/{remote}"],
            capture_output=True,
            check=False,
        )
        if known.returncode != 0:
            raise ReleaseError(
                f"{root}: the checkout has no {remote}: check out with fetch-depth: 0"
                " (actions/checkout), which fetches every branch"
            )
        done = subprocess.run(
            [*git, "merge-base", "--is-ancestor", "HEAD", remote],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as error:
        raise ReleaseError(f"cannot run git ({error.strerror}): install git") from None
    commit = head.stdout.strip()
    if done.returncode == 1:
        raise ReleaseError(
            f"commit {commit} is not on {branch}: only a merged commit is released;"
            f" delete the tag (git push --delete origin <tag>), merge, and tag a commit of"
            f" {branch}"
        )
    if done.returncode != 0:
        raise ReleaseError(f"git merge-base failed: {done.stderr.strip()}")
    return commit


def changelog_entry(root: Path, version: str) -> str:
    """The text under ``## <version>`` up to the next ``## `` heading, trimmed."""
    path = root / "CHANGELOG.md"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ReleaseError(f"{path}: cannot read it ({error.strerror})") from None
    headings = [
        (index, match)
        for index, line in enumerate(lines)
        if (match := CHANGELOG_HEADING.fullmatch(line.rstrip()))
    ]
    found = [at for at, (_, match) in enumerate(headings) if match["version"] == version]
    if not found:
        raise ReleaseError(
            f"{path}: no entry '## {version}': add one that says what changed for users"
            " (it becomes the release's description)"
        )
    position = found[0]
    index, heading = headings[position]
    if "unreleased" in heading["rest"].lower():
        raise ReleaseError(
            f"{path}:{index + 1}: the entry for {version} is marked unreleased:"
            f" write its date instead (## {version} (YYYY-MM-DD)) and commit"
        )
    end = headings[position + 1][0] if position + 1 < len(headings) else len(lines)
    text = "\n".join(lines[index + 1 : end]).strip("\n")
    if not text.strip():
        raise ReleaseError(
            f"{path}:{index + 1}: the entry for {version} is empty: say what changed"
        )
    return text + "\n"


def check_registry_id(buildpack_id: str) -> tuple[str, str]:
    namespace, slash, name = buildpack_id.partition("/")
    where = f"buildpack.toml id {buildpack_id!r}"
    if not slash or "/" in name:
        raise ReleaseError(f"{where}: the registry needs exactly one '/' (<namespace>/<name>)")
    for part, value in (("namespace", namespace), ("name", name)):
        if not REGISTRY_PART.fullmatch(value):
            raise ReleaseError(
                f"{where}: the {part} {value!r} must be 1 to 253 of a-z, 0-9, '-' and '.'"
            )
    if namespace in RESTRICTED_NAMESPACES:
        raise ReleaseError(f"{where}: the registry reserves the namespace {namespace!r}")
    return namespace, name


def registry_request(root: Path, address: str) -> tuple[str, str]:
    """The title and body of the issue that asks buildpacks/registry-index to add this
    version, in the form ``pack buildpack register`` and the index's issue template use."""
    buildpack = read_buildpack(root)
    check_registry_id(buildpack.id)
    if not SEMVER.fullmatch(buildpack.version):
        raise ReleaseError(
            f"buildpack.toml version {buildpack.version!r}: the registry needs a semantic"
            " version (MAJOR.MINOR.PATCH)"
        )
    if not IMAGE_BY_DIGEST.fullmatch(address):
        raise ReleaseError(
            f"--address {address!r}: the registry needs the image by digest,"
            " <registry host>/<repository>@sha256:<64 hex digits>, not by tag"
        )
    title = f"ADD {buildpack.id}@{buildpack.version}"
    body = f'```\nid = "{buildpack.id}"\nversion = "{buildpack.version}"\naddr = "{address}"\n```\n'
    return title, body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root", type=Path, default=REPO, help="the repository (default: this one)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    tag = commands.add_parser("check-tag", help="the tag names buildpack.toml's version")
    tag.add_argument("tag")
    on_branch = commands.add_parser(
        "check-on-branch", help="the checked-out commit is on origin/<branch>"
    )
    on_branch.add_argument("branch")
    notes = commands.add_parser("notes", help="the CHANGELOG.md entry of a version")
    notes.add_argument("version")
    request = commands.add_parser("registry-request", help="the Buildpack Registry request")
    request.add_argument("--address", required=True, help="the pushed image by digest")
    request.add_argument("--body-file", type=Path, required=True)
    args = parser.parse_args(argv)
    root: Path = args.root
    try:
        if args.command == "check-tag":
            buildpack = check_tag(root, args.tag)
            print(f"tag {args.tag} releases {buildpack.id} {buildpack.version}")
        elif args.command == "check-on-branch":
            commit = check_on_branch(root, args.branch)
            print(f"commit {commit} is on {args.branch}")
        elif args.command == "notes":
            sys.stdout.write(changelog_entry(root, args.version))
        else:
            title, body = registry_request(root, args.address)
            try:
                args.body_file.write_text(body, encoding="utf-8")
            except OSError as error:
                raise ReleaseError(
                    f"{args.body_file}: cannot write it ({error.strerror})"
                ) from None
            print(title)
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
