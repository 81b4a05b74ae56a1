"""Run probes in a real container: runc on an image unpacked by umoci.

Each run gets its own bundle (a ``config.json`` whose root is the image's rootfs) and its
own runc state directory, both under the caller's temp dir; the container is deleted
afterwards, also when the run timed out. The process runs as the given user with
exactly its groups (none by default), no capabilities, no new privileges, no terminal.

The probe is a busybox shell script (busybox is bind-mounted read-only at
``/.wp-probe/busybox``, so it works on any base): for each path it tries what the app
would, as the run user, inside the container: create a file in a directory, open an
existing file for writing (append, writing nothing). It prints the paths that allowed it.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .harness import HarnessError, User
from .oci import APP_DIR, OciImage, tool

TIMEOUT = 60  # a hang guard, not a timing assertion
PROBE_DIR = "/.wp-probe"
BUSYBOX = f"{PROBE_DIR}/busybox"
# $1.. are "d:PATH" or "f:PATH"; prints each PATH the process could write.
PROBE_SCRIPT = f"""
bb={BUSYBOX}
for item in "$@"; do
  kind=${{item%%:*}}; path=${{item#?:}}
  if [ "$kind" = d ]; then
    probe="$path/.wp-probe-$$"
    if $bb touch "$probe" 2>/dev/null; then $bb rm -f "$probe"; echo "$path"; fi
  elif [ -f "$path" ] && ( : >> "$path" ) 2>/dev/null; then
    echo "$path"
  fi
done
"""
_ids = itertools.count(1)


@dataclass(frozen=True)
class Mount:
    """One entry of the runtime config's ``mounts``."""

    destination: str
    type: str  # "tmpfs" or "bind"
    source: str
    options: tuple[str, ...] = ()

    def spec(self) -> dict[str, object]:
        return {
            "destination": self.destination,
            "type": self.type,
            "source": self.source,
            "options": list(self.options),
        }


@dataclass(frozen=True)
class RunSpec:
    """How the container runs: its user, a read-only root or not, extra mounts."""

    user: User
    readonly: bool = False
    mounts: tuple[Mount, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def version() -> str:
    """runc's version line ("runc version 1.1.5+ds1")."""
    done = subprocess.run(
        [str(tool("runc")), "--version"], capture_output=True, text=True, check=False
    )
    return done.stdout.splitlines()[0] if done.stdout else "runc (version unknown)"


def _config(image: OciImage, spec: RunSpec, args: Sequence[str]) -> dict[str, object]:
    generated = json.loads((image.rootfs.parent / "config.json").read_text())
    process = generated["process"]
    process.update(
        terminal=False,
        args=list(args),
        cwd=APP_DIR,
        noNewPrivileges=True,
        user={"uid": spec.user.uid, "gid": spec.user.gid, "additionalGids": list(spec.user.groups)},
    )
    # A non-root process has no effective capabilities under Docker or Kubernetes.
    process["capabilities"] = {
        "bounding": process["capabilities"]["bounding"],
        "effective": [],
        "inheritable": [],
        "permitted": [],
        "ambient": [],
    }
    generated["root"] = {"path": str(image.rootfs), "readonly": spec.readonly}
    busybox = Mount(BUSYBOX, "bind", str(tool("busybox").resolve()), ("bind", "ro"))
    generated["mounts"] = [
        *generated["mounts"],
        *(m.spec() for m in spec.mounts),
        busybox.spec(),
    ]
    generated["hostname"] = "wp-probe"
    return dict(generated)


def containers(workdir: Path) -> list[str]:
    """The ids of the containers runc knows in ``workdir``'s state directory."""
    state = workdir / "runc-state"
    if not state.is_dir():
        return []
    done = subprocess.run(
        [str(tool("runc")), "--root", str(state), "list", "-q"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    return done.stdout.split()


def run(
    image: OciImage,
    spec: RunSpec,
    args: Sequence[str],
    workdir: Path,
    timeout: float = TIMEOUT,
) -> Result:
    """Run ``args`` in a container of ``image`` as ``spec`` says; always deleted."""
    runc = tool("runc")
    number = next(_ids)
    bundle = workdir / f"runc-bundle-{number}"
    state = workdir / "runc-state"
    bundle.mkdir(parents=True)
    state.mkdir(exist_ok=True)
    (bundle / "config.json").write_text(json.dumps(_config(image, spec, args)))
    name = f"wp-{os.getpid()}-{number}"
    base = [str(runc), "--root", str(state)]
    try:
        done = subprocess.run(
            [*base, "run", "--bundle", str(bundle), name],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise HarnessError(f"runc run {name} did not finish in {timeout}s") from err
    finally:
        subprocess.run(
            [*base, "delete", "--force", name], capture_output=True, timeout=TIMEOUT, check=False
        )
    return Result(done.returncode, done.stdout, done.stderr)


def probe_writable(
    image: OciImage, spec: RunSpec, items: Sequence[tuple[str, str]], workdir: Path
) -> set[str]:
    """Of ``items`` (absolute path in the container, "dir" or "file"), the paths the
    container's process can write."""
    args = [f"{kind[0]}:{path}" for path, kind in items]
    for path, _kind in items:
        if "\n" in path:
            raise HarnessError(f"the probe cannot take a path with a line break: {path!r}")
    result = run(image, spec, [BUSYBOX, "sh", "-c", PROBE_SCRIPT, "probe", *args], workdir)
    if result.returncode != 0:
        raise HarnessError(f"the probe container failed ({result.returncode}):\n{result.stderr}")
    return set(result.stdout.splitlines())


def unavailable() -> str | None:
    """Why runc cannot run containers here, or None."""
    if os.geteuid() != 0:
        return "runc needs root here (containers as another user, no rootless setup)"
    for name in ("runc", "umoci", "busybox"):
        try:
            tool(name)
        except HarnessError as err:
            return str(err)
    if not os.path.exists("/proc/self/ns/user") or not os.path.exists("/proc/self/ns/mnt"):
        return "this kernel has no mount or user namespaces"
    return None


def version_tuple() -> tuple[int, ...]:
    """runc's version as numbers: (1, 1, 5) for "runc version 1.1.5+ds1"."""
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", version())
    return tuple(int(n) for n in match.groups()) if match else (0,)
