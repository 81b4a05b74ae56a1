"""Models of the files and commands the README's "Using it" shows, from their sources.

Each model takes exactly the fields its reader decodes and refuses any other
(``extra="forbid"``), with the reader's own validation rules, so that a misspelled key,
a wrong type or a missing field fails the test as it would fail (or be ignored by) the
real tool. Sources, read at these commits:

- project.toml, schema 0.2: ``buildpacks/spec:extensions/project-descriptor.md``
  (b745fcf) and pack's reader ``buildpacks/pack:pkg/project/v02/project.go``,
  ``pkg/project/types/types.go`` (7640af9).
- builder.toml: ``buildpacks/pack:builder/config_reader.go`` (its decoder fails on any
  undecoded key; ``ValidateConfig``), ``pkg/dist/dist.go``, ``pkg/dist/buildmodule.go``;
  ``[[system.*.buildpacks]]``: ``buildpacks/spec:platform.md`` ("system.toml": id and
  version required).
- pack build's flags: ``buildpacks/pack:internal/commands/build.go``; buildpack
  references: ``pkg/buildpack/locator_type.go``.
- kpack: ``buildpacks-community/kpack:pkg/apis/build/v1alpha2/cluster_builder_types.go``,
  ``builder_types.go``, ``cluster_buildpack_types.go``, ``pkg/apis/core/v1alpha1/
  buildpack_types.go`` and the rules of ``builder_validation.go``,
  ``cluster_builder_validation.go`` (bfa95d7). Its CRDs carry no schema
  (``x-kubernetes-preserve-unknown-fields``), so the types are the schema. Object
  metadata and references are the Kubernetes fields the snippets can use.
- Tekton: ``tektoncd/catalog:task/buildpacks/0.6/buildpacks.yaml`` (55dd80e) for the
  task's parameters and workspaces; the TaskRun fields are Tekton's ``v1beta1``
  ``TaskRun`` (``taskRef``, ``params``, ``workspaces``, ``serviceAccountName``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)


# -- project.toml, schema 0.2 ---------------------------------------------------------


class License(Model):
    type: str = ""
    uri: str = ""


class Script(Model):
    api: str
    inline: str
    shell: str = "/bin/sh"


class GroupBuildpack(Model):
    id: str = ""
    version: str = ""
    uri: str = ""
    script: Script | None = None

    @model_validator(mode="after")
    def one_source(self) -> GroupBuildpack:
        # "Either a version, uri, or script table MUST be included, but MUST NOT
        # include any combination of these elements."
        given = [name for name in ("version", "uri", "script") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of version, uri or script, not {given}")
        if self.version and not self.id:
            raise ValueError("a version needs the buildpack's id")
        return self


class EnvVar(Model):
    name: str = Field(min_length=1)
    value: str


class GroupAddition(Model):
    group: list[GroupBuildpack] = []


class BuildTable(Model):
    env: list[EnvVar] = []


class DeprecatedEnv(Model):
    build: list[EnvVar] = []


class Buildpacks(Model):
    builder: str = ""
    include: list[str] = []
    exclude: list[str] = []
    group: list[GroupBuildpack] = []
    pre: GroupAddition = GroupAddition()
    post: GroupAddition = GroupAddition()
    build: BuildTable = BuildTable()
    env: DeprecatedEnv = DeprecatedEnv()

    @model_validator(mode="after")
    def include_or_exclude(self) -> Buildpacks:
        if self.include and self.exclude:
            raise ValueError("include and exclude are mutually exclusive")
        return self


class IoTable(Model):
    buildpacks: Buildpacks


class ProjectTable(Model):
    schema_version: Literal["0.2"] = Field(alias="schema-version")
    id: str = ""
    name: str = ""
    version: str = ""
    authors: list[str] = []
    documentation_url: str = Field("", alias="documentation-url")
    source_url: str = Field("", alias="source-url")
    licenses: list[License] = []
    metadata: dict[str, Any] = {}


class ProjectDescriptor(Model):
    project: ProjectTable = Field(alias="_")
    io: IoTable


# -- builder.toml ---------------------------------------------------------------------


class ModuleInfo(Model):
    id: str = ""
    name: str = ""
    version: str = ""
    description: str = ""
    homepage: str = ""
    keywords: list[str] = []
    exec_env: list[str] = Field([], alias="exec-env")
    licenses: list[License] = []
    clear_env: bool = Field(False, alias="clear-env")


class ModuleConfig(ModuleInfo):
    uri: str = ""
    image: str = ""


class ModuleRef(ModuleInfo):
    optional: bool = False


class OrderEntry(Model):
    group: list[ModuleRef]


class SystemBuildpack(ModuleRef):
    @model_validator(mode="after")
    def id_and_version(self) -> SystemBuildpack:
        if not self.id or not self.version:
            raise ValueError("a system buildpack needs both id and version")
        return self


class SystemBuildpacks(Model):
    buildpacks: list[SystemBuildpack] = []


class System(Model):
    pre: SystemBuildpacks = SystemBuildpacks()
    post: SystemBuildpacks = SystemBuildpacks()


class StackConfig(Model):
    id: str = ""
    build_image: str = Field("", alias="build-image")
    run_image: str = Field("", alias="run-image")
    run_image_mirrors: list[str] = Field([], alias="run-image-mirrors")


class LifecycleConfig(Model):
    uri: str = ""
    version: str = ""


class RunImage(Model):
    image: str = Field(min_length=1)
    mirrors: list[str] = []


class RunConfig(Model):
    images: list[RunImage] = []


class BuildEnv(Model):
    name: str = Field(min_length=1)
    value: str
    suffix: Literal["", "default", "override", "append", "prepend"] = ""
    delim: str = ""
    exec_env: list[str] = Field([], alias="exec-env")


class BuildConfig(Model):
    image: str = ""
    env: list[BuildEnv] = []


class Distribution(Model):
    name: str = ""
    version: str = ""


class Target(Model):
    os: str
    arch: str
    variant: str = ""
    distros: list[Distribution] = []


class BuilderConfig(Model):
    description: str = ""
    buildpacks: list[ModuleConfig] = []
    extensions: list[ModuleConfig] = []
    order: list[OrderEntry] = []
    order_extensions: list[OrderEntry] = Field([], alias="order-extensions")
    stack: StackConfig | None = None  # the older spelling of build.image and run.images
    lifecycle: LifecycleConfig = LifecycleConfig()
    run: RunConfig = RunConfig()
    build: BuildConfig = BuildConfig()
    targets: list[Target] = []
    system: System = System()

    @model_validator(mode="after")
    def images(self) -> BuilderConfig:  # pack's ValidateConfig
        stack = self.stack
        if not self.build.image and not (stack and stack.build_image):
            raise ValueError("build.image is required")
        if not self.run.images and not (stack and stack.run_image and stack.id):
            raise ValueError("run.images are required")
        return self


# -- kpack ----------------------------------------------------------------------------


class ObjectMeta(Model):
    name: str = Field(min_length=1)
    namespace: str = ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class ObjectReference(Model):
    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    apiVersion: str = ""  # Kubernetes spells the fields in camelCase
    resourceVersion: str = ""
    fieldPath: str = ""


class BuilderBuildpackRef(ObjectReference):
    id: str = ""
    version: str = ""
    optional: bool = False
    image: str = ""

    @model_validator(mode="after")
    def kpack_rules(self) -> BuilderBuildpackRef:  # validateBuildpackRef
        if self.image:
            raise ValueError("image reference currently not supported")
        if not (self.id or self.name or self.kind):
            raise ValueError("missing one of image, id, name + kind")
        if self.name or self.kind:
            _kind_of(self, ("Buildpack", "ClusterBuildpack"))
        return self


def _kind_of(ref: ObjectReference, kinds: tuple[str, ...]) -> None:
    if not ref.name:
        raise ValueError("missing field: name")
    if ref.kind not in kinds:
        raise ValueError(f"invalid kind {ref.kind!r}: must be one of {', '.join(kinds)}")


class BuilderOrderEntry(Model):
    group: list[BuilderBuildpackRef]


class ClusterBuilderSpec(Model):
    tag: str = Field(min_length=1)
    stack: ObjectReference
    lifecycle: ObjectReference = ObjectReference()
    store: ObjectReference = ObjectReference()
    order: list[BuilderOrderEntry] = []
    additionalLabels: dict[str, str] = {}
    serviceAccountRef: ObjectReference

    @model_validator(mode="after")
    def kpack_rules(self) -> ClusterBuilderSpec:
        account = self.serviceAccountRef
        if not account.name or not account.namespace:
            raise ValueError("serviceAccountRef needs name and namespace")
        _kind_of(self.stack, ("ClusterStack",))
        if self.store.name or self.store.kind:
            _kind_of(self.store, ("ClusterStore",))
        return self


class ClusterBuilder(Model):
    apiVersion: Literal["kpack.io/v1alpha2"]
    kind: Literal["ClusterBuilder"]
    metadata: ObjectMeta
    spec: ClusterBuilderSpec


class ClusterBuildpackSpec(Model):
    image: str = Field(min_length=1)
    serviceAccountRef: ObjectReference | None = None


class ClusterBuildpack(Model):
    apiVersion: Literal["kpack.io/v1alpha2"]
    kind: Literal["ClusterBuildpack"]
    metadata: ObjectMeta
    spec: ClusterBuildpackSpec


# -- Tekton: a TaskRun of tektoncd/catalog's buildpacks task 0.6 ----------------------


@dataclass(frozen=True)
class TaskParam:
    type: Literal["string", "array"]
    required: bool  # the task gives it no default


BUILDPACKS_TASK_PARAMS = {
    "APP_IMAGE": TaskParam("string", True),
    "BUILDER_IMAGE": TaskParam("string", True),
    "SOURCE_SUBPATH": TaskParam("string", False),
    "ENV_VARS": TaskParam("array", False),
    "PROCESS_TYPE": TaskParam("string", False),
    "RUN_IMAGE": TaskParam("string", False),
    "CACHE_IMAGE": TaskParam("string", False),
    "SKIP_RESTORE": TaskParam("string", False),
    "USER_ID": TaskParam("string", False),
    "GROUP_ID": TaskParam("string", False),
    "PLATFORM_DIR": TaskParam("string", False),
}
BUILDPACKS_TASK_WORKSPACES = {"source": True, "cache": False, "dockerconfig": False}


class Param(Model):
    name: str
    value: str | list[str]


class TaskRef(Model):
    name: str
    kind: Literal["Task", "ClusterTask"] = "Task"


class ClaimSource(Model):
    claimName: str
    readOnly: bool = False


class WorkspaceBinding(Model):
    name: str
    subPath: str = ""
    persistentVolumeClaim: ClaimSource | None = None
    emptyDir: dict[str, Any] | None = None


class TaskRunSpec(Model):
    taskRef: TaskRef
    params: list[Param] = []
    workspaces: list[WorkspaceBinding] = []
    serviceAccountName: str = ""

    @model_validator(mode="after")
    def fits_the_task(self) -> TaskRunSpec:
        if self.taskRef.name != "buildpacks":
            return self
        given = {p.name: p.value for p in self.params}
        for name, value in given.items():
            param = BUILDPACKS_TASK_PARAMS.get(name)
            if param is None:
                raise ValueError(f"the buildpacks task has no parameter {name}")
            if (param.type == "array") != isinstance(value, list):
                raise ValueError(f"{name} is of type {param.type}")
        missing = [n for n, p in BUILDPACKS_TASK_PARAMS.items() if p.required and n not in given]
        if missing:
            raise ValueError(f"the buildpacks task needs {missing}")
        bound = {w.name for w in self.workspaces}
        unknown = bound - set(BUILDPACKS_TASK_WORKSPACES)
        if unknown:
            raise ValueError(f"the buildpacks task has no workspace {sorted(unknown)}")
        unbound = [
            n for n, needed in BUILDPACKS_TASK_WORKSPACES.items() if needed and n not in bound
        ]
        if unbound:
            raise ValueError(f"the buildpacks task needs the workspace {unbound}")
        return self


class TaskRun(Model):
    apiVersion: Literal["tekton.dev/v1beta1"]
    kind: Literal["TaskRun"]
    metadata: ObjectMeta
    spec: TaskRunSpec


# -- pack build -----------------------------------------------------------------------

# Long name -> (short name, takes a value), as internal/commands/build.go declares them.
PACK_BUILD_FLAGS: dict[str, tuple[str, bool]] = {
    "path": ("p", True),
    "buildpack": ("b", True),
    "extension": ("", True),
    "insecure-registry": ("", True),
    "builder": ("B", True),
    "cache": ("", True),
    "cache-image": ("", True),
    "clear-cache": ("", False),
    "creation-time": ("", True),
    "descriptor": ("d", True),
    "default-process": ("D", True),
    "disable-system-buildpacks": ("", False),
    "env": ("e", True),
    "env-file": ("", True),
    "network": ("", True),
    "pre-buildpack": ("", True),
    "post-buildpack": ("", True),
    "publish": ("", False),
    "docker-host": ("", True),
    "lifecycle-image": ("", True),
    "platform": ("", True),
    "pull-policy": ("", True),
    "exec-env": ("", True),
    "buildpack-registry": ("r", True),
    "run-image": ("", True),
    "tag": ("t", True),
    "trust-builder": ("", False),
    "trust-extra-buildpacks": ("", False),
    "volume": ("", True),
    "workspace": ("", True),
    "gid": ("", True),
    "uid": ("", True),
    "previous-image": ("", True),
    "sbom-output-dir": ("", True),
    "report-output-dir": ("", True),
    "interactive": ("", False),
    "sparse": ("", False),
    "userns-host": ("", False),
}
_SHORT = {short: long for long, (short, _) in PACK_BUILD_FLAGS.items() if short}
BUILDPACK_FLAGS = ("buildpack", "pre-buildpack", "post-buildpack")
_SEMVER = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"
_REGISTRY = re.compile(rf"^urn:cnb:registry:[a-z0-9\-.]+/[a-z0-9\-.]+(?:@{_SEMVER})?$")


@dataclass(frozen=True)
class PackBuild:
    image: str
    flags: tuple[tuple[str, str], ...]  # (long name, value; "true" for a boolean)

    def values(self, name: str) -> list[str]:
        return [value for flag, value in self.flags if flag == name]


def parse_pack_build(command: str) -> PackBuild:
    """``pack build IMAGE [flags]`` as pack's flag set reads it; ValueError otherwise."""
    words = shlex.split(command)
    if words[:2] != ["pack", "build"]:
        raise ValueError(f"not a pack build command: {command!r}")
    image = ""
    flags: list[tuple[str, str]] = []
    rest = iter(words[2:])
    for word in rest:
        if not word.startswith("-"):
            if image:
                raise ValueError(f"pack build takes one image name, got {image!r} and {word!r}")
            image = word
            continue
        name, eq, value = word.lstrip("-").partition("=")
        if not word.startswith("--"):
            if len(name) != 1 or name not in _SHORT:
                raise ValueError(f"pack build has no flag {word}")
            name = _SHORT[name]
        if name not in PACK_BUILD_FLAGS:
            raise ValueError(f"pack build has no flag --{name}")
        takes_value = PACK_BUILD_FLAGS[name][1]
        if takes_value and not eq:
            value = next(rest, "")
            if not value or value.startswith("-"):
                raise ValueError(f"--{name} needs a value")
        elif not takes_value:
            value = value if eq else "true"
        flags.append((name, value))
    if not image:
        raise ValueError("pack build needs an image name")
    for name in BUILDPACK_FLAGS:
        for ref in [v for f, v in flags if f == name]:
            locator_kind(ref)
    return PackBuild(image, tuple(flags))


def locator_kind(ref: str) -> str:
    """The kind of buildpack reference pack takes ``ref`` for (locator_type.go)."""
    if ref == "from=builder":
        return "builder"
    if ref.startswith(("urn:cnb:builder:", "from=builder:")):
        return "id in the builder"
    if ref.startswith("urn:cnb:registry:"):
        if not _REGISTRY.match(ref):
            raise ValueError(f"not a Buildpack Registry reference: {ref!r}")
        return "registry"
    if ref.startswith("docker://"):
        return "image"
    if ref.endswith((".tgz", ".tar", ".cnb")) or ref.startswith(("/", "./", "../")):
        return "file"
    raise ValueError(f"pack would have to guess what {ref!r} is: write one of the documented forms")
