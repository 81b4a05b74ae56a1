"""Really try, as another user, the writes the access model predicts.

``run_probes`` starts one process as the given user (``setpriv``, as root) that
tries each operation on a real path and undoes what it did, and returns what
happened. The operations are the model's (``writable_paths.access``): WRITE opens
the file for writing, creating it when missing; CREATE_IN creates and deletes a
file inside a directory; REPLACE renames an entry away and back. Reusable after a
real build: probe what ``check --json`` or ``explain --json`` call writable.

Run as a script (by ``run_probes``), it reads the probes as JSON on stdin and
prints one ``[ok, errno name]`` pair per probe.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from writable_paths.core.access import Entry

# The script runs isolated (-I -S) as the other user, without the package: it
# repeats the names of the model's operations (test_access checks they agree).
WRITE = "write"  # the operations of writable_paths.access
CREATE_IN = "create-in"
REPLACE = "replace"
_SUFFIX = ".wp-probe"


def _write(path: str) -> None:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NOFOLLOW))
    except FileNotFoundError:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        os.unlink(path)


def _create_in(directory: str) -> None:
    path = os.path.join(directory, f"{_SUFFIX}-{os.getpid()}")
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    os.unlink(path)


def _replace(path: str) -> None:
    moved = path + _SUFFIX
    os.rename(path, moved)
    os.rename(moved, path)


_OPERATIONS = {WRITE: _write, CREATE_IN: _create_in, REPLACE: _replace}


def _try(operation: str, path: str) -> tuple[bool, str]:
    try:
        _OPERATIONS[operation](path)
    except OSError as err:
        return False, errno.errorcode.get(err.errno or 0, str(err.errno))
    return True, ""


def run_probes(
    probes: list[tuple[str, str]], uid: int, gid: int, groups: tuple[int, ...] = ()
) -> list[tuple[bool, str]]:
    """Try each (operation, absolute path) as ``uid``:``gid`` with only ``groups``
    besides; the result per probe is (succeeded, errno name when it failed)."""
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "setpriv (util-linux) is needed to act as another user"
    ids = ["--clear-groups"] if not groups else ["--groups", ",".join(map(str, groups))]
    command = [setpriv, f"--reuid={uid}", f"--regid={gid}", *ids]
    command += [sys.executable, "-I", "-S", os.path.abspath(__file__)]
    done = subprocess.run(
        command,
        input=json.dumps(probes),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"the probe process failed: {done.stderr}"
    results = json.loads(done.stdout)
    assert len(results) == len(probes)
    return [(bool(ok), str(name)) for ok, name in results]


def entries_on_disk(app: str, names: tuple[bytes, ...]) -> list[Entry]:
    """The model's input for ``app``/``names`` as the tree is now (read as root, by
    lstat): each entry's kind and mode; whatever lies past a missing entry, a file
    or a symlink is missing."""
    from writable_paths.core.access import DIRECTORY, MISSING, Entry, kind_of

    entries = [Entry(b"", kind_of(os.lstat(app).st_mode), os.lstat(app).st_mode)]
    path = os.fsencode(app)
    for name in names:
        if entries[-1].kind != DIRECTORY:
            entries.append(Entry(name, MISSING))
            continue
        path = os.path.join(path, name)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            entries.append(Entry(name, MISSING))
        else:
            entries.append(Entry(name, kind_of(st.st_mode), st.st_mode))
    return entries


def main() -> None:
    probes = json.load(sys.stdin)
    json.dump([_try(operation, path) for operation, path in probes], sys.stdout)


if __name__ == "__main__":
    main()
