"""What package/oci.py needs of the ``buildpack.toml`` inside an archive before it makes
an image of it: the fields the layer path, the tags and the labels are made of, with the
types and forms the buildpack spec gives them (buildpacks/spec: buildpack.md,
"buildpack.toml (TOML)").

The id and version name the layer's directory ``/cnb/buildpacks/<id, / as _>/<version>``
and the image tags, and os and arch name the tags and the platforms, so a value that is
not of the spec's form (an id ``..``, a version ``1.0/../x``) would put the buildpack
somewhere else in the image, or stop umoci with a message about something else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: The buildpack ID: numbers, letters, ``.``, ``/`` and ``-``; not a reserved name.
BUILDPACK_ID = re.compile(r"[A-Za-z0-9./-]+")
RESERVED_IDS = frozenset({"app", "config", "generated", "sbom"})
#: The buildpack version: ``<X>.<Y>.<Z>``, non-negative integers without leading zeros.
VERSION = re.compile(r"(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)")
#: An OCI platform's os, architecture or variant (``linux``, ``arm64``, ``v8``).
PLATFORM_VALUE = re.compile(r"[a-z0-9]+")


def missing_fields(descriptor: Mapping[str, Any]) -> list[str]:
    """The fields the image is made of that are absent or not strings."""
    table = descriptor.get("buildpack")
    missing = [] if isinstance(descriptor.get("api"), str) else ["api"]
    if not isinstance(table, dict):
        missing.append("[buildpack]")
    else:
        missing += [
            f"buildpack.{k}" for k in ("id", "version") if not isinstance(table.get(k), str)
        ]
    targets = descriptor.get("targets")
    if not isinstance(targets, list) or not targets:
        missing.append("[[targets]]")
    else:
        for n, target in enumerate(targets):
            if not isinstance(target, dict):
                missing.append(f"targets[{n}] as a table")
                continue
            missing += [
                f"targets[{n}].{k}"
                for k in ("os", "arch")
                if not isinstance(target.get(k, "linux" if k == "os" else None), str)
            ]
    return missing


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _tables(value: object, keys: Mapping[str, bool]) -> bool:
    """A list of tables whose ``keys`` are strings (lists of strings where True)."""
    return isinstance(value, list) and all(
        isinstance(item, dict)
        and all(
            k not in item or (_strings(item[k]) if many else isinstance(item[k], str))
            for k, many in keys.items()
        )
        for item in value
    )


def invalid_fields(descriptor: Mapping[str, Any]) -> list[str]:
    """What is present but not of the spec's form; call after ``missing_fields`` found
    nothing."""
    table = descriptor["buildpack"]
    bad: list[str] = []
    buildpack_id, version = table["id"], table["version"]
    if (
        not BUILDPACK_ID.fullmatch(buildpack_id)
        or buildpack_id.lower() in RESERVED_IDS
        or buildpack_id.replace("/", "_") in (".", "..")
    ):
        bad.append(
            f"buildpack.id {buildpack_id!r} (letters, digits, '.', '/' and '-'; not "
            f"{', '.join(sorted(RESERVED_IDS))}, '.' or '..')"
        )
    if not VERSION.fullmatch(version):
        bad.append(f"buildpack.version {version!r} (X.Y.Z, no leading zeros)")
    for key in ("name", "description", "homepage"):
        if key in table and not isinstance(table[key], str):
            bad.append(f"buildpack.{key} (a string)")
    if "keywords" in table and not _strings(table["keywords"]):
        bad.append("buildpack.keywords (a list of strings)")
    if "licenses" in table and not _tables(table["licenses"], {"type": False, "uri": False}):
        bad.append("buildpack.licenses (tables of type and uri strings)")
    for n, target in enumerate(descriptor["targets"]):
        for key in ("os", "arch", "variant"):
            value = target.get(key, "linux" if key == "os" else None)
            if value is not None and not (
                isinstance(value, str) and PLATFORM_VALUE.fullmatch(value)
            ):
                bad.append(f"targets[{n}].{key} {value!r} (lowercase letters and digits)")
        if "distros" in target and not _tables(
            target["distros"], {"name": False, "version": False}
        ):
            bad.append(f"targets[{n}].distros (tables of name and version strings)")
    stacks = descriptor.get("stacks", [])
    if not _tables(stacks, {"id": False, "mixins": True}) or not all(
        isinstance(s.get("id"), str) for s in stacks
    ):
        bad.append("stacks (tables with an id string and mixins, a list of strings)")
    return bad
