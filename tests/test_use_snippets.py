"""Every snippet of the README's "Using it" is valid for the tool that reads it.

Each fenced block is taken from the README as it is and checked by the model of its
tool's schema (``use_schemas``: project.toml, builder.toml, kpack, Tekton, pack build's
flags), then for what it must do: append this buildpack, last in every group, by a
reference with ``buildpack.toml``'s id and version. A block no check knows fails, so
a new snippet cannot go unchecked; and each check is shown to fail on a broken copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomllib
import use_schemas as schema
from pydantic import ValidationError
from ruamel.yaml import YAML

from testing import readme
from writable_paths.core.patterns import parse_file

BUILDPACK = tomllib.loads((Path(__file__).resolve().parent.parent / "buildpack.toml").read_text())
BP_ID: str = BUILDPACK["buildpack"]["id"]
BP_VERSION: str = BUILDPACK["buildpack"]["version"]
SETTINGS = {c["name"] for c in BUILDPACK["metadata"]["configurations"]}
IMAGE = f"ghcr.io/{BP_ID}:{BP_VERSION}"
NAME = BP_ID.split("/")[1]
REFERENCES = {
    f"docker://{IMAGE}",
    f"urn:cnb:registry:{BP_ID}@{BP_VERSION}",
    f"build/{NAME}-{BP_VERSION}.cnb",
    f"build/{NAME}-{BP_VERSION}.tgz",
}
USING = readme.section(readme.read(), "Using it")
BLOCKS = readme.blocks(USING)
# Anything in the section that names a version of this buildpack.
_VERSIONED = re.compile(rf"{re.escape(NAME)}(?:-|:|@)(\d+\.\d+\.\d+)")
_ID_FIELD = re.compile(r"""\bid\s*[:=]\s*["']?([\w./-]*writable-paths)["']?""")


def _is_ours(ref: str) -> bool:
    return NAME in ref


# -- the checks, one per kind of snippet ------------------------------------------------


def check_pack(body: str) -> None:
    commands = [c for c in body.replace("\\\n", " ").splitlines() if c.strip()]
    assert commands, "an sh block with no command"
    for command in commands:
        build = schema.parse_pack_build(command)
        ours = [
            (flag, value)
            for flag, value in build.flags
            if flag in schema.BUILDPACK_FLAGS and _is_ours(value)
        ]
        assert len(ours) == 1, f"the command must append this buildpack once: {command}"
        flag, ref = ours[0]
        assert ref in REFERENCES, f"{ref} is none of the documented references"
        if flag == "buildpack":
            # Without from=builder, -b replaces the builder's order with this one.
            refs = build.values("buildpack")
            before = refs[: refs.index(ref)]
            assert "from=builder" in before, (
                f"-b without from=builder replaces the order: {command}"
            )
        for setting in build.values("env"):
            assert setting.partition("=")[0] in SETTINGS, f"{setting}: no setting of this buildpack"


def _ours_in_group(entry: schema.GroupBuildpack) -> bool:
    return entry.uri in REFERENCES or (entry.id == BP_ID and entry.version == BP_VERSION)


def check_project_toml(data: dict[str, Any]) -> None:
    project = schema.ProjectDescriptor.model_validate(data)
    post = project.io.buildpacks.post.group
    assert post, "project.toml must append it as a post-group buildpack"
    assert _ours_in_group(post[-1]), post[-1]
    for env in project.io.buildpacks.build.env:
        assert env.name in SETTINGS, f"{env.name} is no setting of this buildpack"


def check_builder_toml(data: dict[str, Any]) -> None:
    builder = schema.BuilderConfig.model_validate(data)
    assert any(b.uri in REFERENCES for b in builder.buildpacks), "no [[buildpacks]] entry for it"
    assert builder.order, "builder.toml needs an order"
    for entry in builder.order:
        last = entry.group[-1]
        assert (last.id, last.version, last.optional) == (BP_ID, BP_VERSION, True), last
        assert [g.id for g in entry.group].count(BP_ID) == 1
    post = builder.system.post.buildpacks
    assert [(b.id, b.version) for b in post] == [(BP_ID, BP_VERSION)], post


def check_kpack(documents: list[dict[str, Any]]) -> None:
    buildpacks = {}
    builders = []
    for document in documents:
        kind = document.get("kind")
        if kind == "ClusterBuildpack":
            buildpack = schema.ClusterBuildpack.model_validate(document)
            buildpacks[buildpack.metadata.name] = buildpack.spec.image
        elif kind == "ClusterBuilder":
            builders.append(schema.ClusterBuilder.model_validate(document))
        else:
            raise AssertionError(f"no model for a kpack {kind}")
    assert builders, "no ClusterBuilder"
    for builder in builders:
        assert builder.spec.order, "a ClusterBuilder without an order"
        for entry in builder.spec.order:
            last = entry.group[-1]
            assert last.optional, last
            if last.kind == "ClusterBuildpack":
                assert buildpacks.get(last.name) == IMAGE, f"{last.name}: {buildpacks}"
            else:
                assert last.id == BP_ID, last


def check_tekton(documents: list[dict[str, Any]]) -> None:
    assert len(documents) == 1
    run = schema.TaskRun.model_validate(documents[0])
    params = {p.name: p.value for p in run.spec.params}
    for setting in params.get("ENV_VARS", []):
        assert setting.partition("=")[0] in SETTINGS, f"{setting}: no setting of this buildpack"
    assert params.get("USER_ID"), "USER_ID must be the builder's build user"
    assert params.get("GROUP_ID"), "GROUP_ID must be the run user's group"


def check_yaml(body: str) -> None:
    documents = [d for d in YAML(typ="safe", pure=True).load_all(body) if d is not None]
    assert documents, "a yaml block with no document"
    assert all(isinstance(d, dict) for d in documents), "not YAML objects"
    api = {str(d.get("apiVersion", "")).split("/")[0] for d in documents}
    if api == {"kpack.io"}:
        check_kpack(documents)
    elif api == {"tekton.dev"}:
        check_tekton(documents)
    else:
        raise AssertionError(f"no model for YAML of {sorted(api)}")


def check_toml(body: str) -> None:
    first = body.splitlines()[0]
    data = tomllib.loads(body)
    if first == "# project.toml":
        check_project_toml(data)
    elif first == "# builder.toml":
        check_builder_toml(data)
    else:
        raise AssertionError(f"a toml block must say which file it is on its first line: {first}")


def check_patterns(body: str) -> None:
    patterns = parse_file(body.encode(), ".writable-paths")
    assert patterns.patterns, "a recipe without patterns"


CHECKS: dict[str, Callable[[str], None]] = {
    "sh": check_pack,
    "toml": check_toml,
    "yaml": check_yaml,
    "gitignore": check_patterns,
}


def check(info: str, body: str) -> None:
    assert info in CHECKS, f"no check for a {info or 'plain'} block: give it one"
    CHECKS[info](body)
    versions = set(_VERSIONED.findall(body))
    assert versions <= {BP_VERSION}, f"versions {versions}, buildpack.toml has {BP_VERSION}"
    assert set(_ID_FIELD.findall(body)) <= {BP_ID}, _ID_FIELD.findall(body)


# -- the README as it is ----------------------------------------------------------------


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.heading}-{b.line}" for b in BLOCKS])
def test_snippet_is_valid_for_its_tool(block: readme.Block) -> None:
    try:
        check(block.info, block.body)
    except (AssertionError, ValueError, ValidationError) as err:
        raise AssertionError(f"{block.where()}: {err}") from err


def test_every_way_of_appending_it_is_shown() -> None:
    infos = [b.info for b in BLOCKS]
    text = "\n".join(b.body for b in BLOCKS)
    assert infos.count("sh") >= 2
    assert "--post-buildpack" in text
    assert "--buildpack from=builder" in text
    assert "[[io.buildpacks.post.group]]" in text
    assert "[[io.buildpacks.build.env]]" in text
    assert "[[system.post.buildpacks]]" in text
    assert "kind: ClusterBuilder" in text
    assert "kind: TaskRun" in text
    assert sum(1 for b in BLOCKS if b.info == "gitignore") == 2  # the two recipes


def test_the_section_names_every_reference_and_only_this_version() -> None:
    for ref in REFERENCES:
        assert f"`{ref}`" in USING.text, ref
    assert set(_VERSIONED.findall(USING.text)) == {BP_VERSION}


def test_no_other_section_repeats_the_snippets() -> None:
    text = readme.read()
    outside = text.replace(readme.section(text, "Using it").text, "")
    markers = (
        "--post-buildpack",
        "from=builder",
        "[[io.buildpacks.post.group]]",
        "optional = true",
    )
    for marker in markers:
        assert marker not in outside, f"{marker} outside 'Using it': point there instead"


# -- the checks can fail ----------------------------------------------------------------


def _block(heading: str, old: str) -> readme.Block:
    blocks = [b for b in BLOCKS if b.heading == heading and old in b.body]
    assert blocks, f"the README's {heading} snippets no longer have {old!r}"
    return blocks[0]


BROKEN = [
    # (heading of the block, text to replace, replacement, what must be said)
    ("pack", "--post-buildpack", "--post-buildpacks", "no flag --post-buildpacks"),
    ("pack", "--buildpack from=builder \\\n", "", "replaces the order"),
    ("pack", f"writable-paths:{BP_VERSION}", "writable-paths:0.1.9", "none of the documented"),
    ("project.toml", "post.group", "post.groups", "groups"),
    ("project.toml", 'schema-version = "0.2"', 'schema-version = "0.3"', "schema-version"),
    ("project.toml", "uri = ", 'version = "1.0"\nuri = ', "exactly one of"),
    ("builder.toml", "optional = true", "optinal = true", "optinal"),
    ("builder.toml", '[[run.images]]\n  image = "', '[[run.images]]\n  mirror = "', "image"),
    (
        "builder.toml",
        f'version = "{BP_VERSION}"\n  optional',
        'version = "0.1.0"\n  optional',
        "0.1.0",
    ),
    ("kpack", "kind: ClusterBuildpack\n          name", "image: x\n          name", "image"),
    ("kpack", "kind: ClusterStack", "kind: Stack", "ClusterStack"),
    ("kpack", "    namespace: kpack\n", "", "namespace"),
    ("project.toml", 'name = "BP_WRITABLE_PATHS"', 'name = "BP_WRITABLE_PATH"', "no setting"),
    ("pack", "--env BP_WRITABLE_PATHS=", "--env BP_WRITEABLE_PATHS=", "no setting"),
    ("Tekton", "name: GROUP_ID", "name: GID", "no parameter GID"),
    ("Tekton", "value:\n        - BP_", "value: BP_", "of type array"),
    ("Tekton", "  workspaces:\n", "  workspace:\n", "workspace"),
]


@pytest.mark.parametrize(("heading", "old", "new", "said"), BROKEN)
def test_a_broken_snippet_fails(heading: str, old: str, new: str, said: str) -> None:
    block = _block(heading, old)
    with pytest.raises((AssertionError, ValueError, ValidationError), match=re.escape(said)):
        check(block.info, block.body.replace(old, new, 1))


def test_a_block_no_check_knows_fails() -> None:
    with pytest.raises(AssertionError, match="no check for a json block"):
        check("json", "{}")
    with pytest.raises(AssertionError, match="which file"):
        check("toml", '[_]\nschema-version = "0.2"\n')
