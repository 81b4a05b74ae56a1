"""A process of the build user reaches into a running build through /proc: the
pipes between the build and its workers are open to any process of the same user
through ``/proc/<pid>/fd/<n>`` while the build is dumpable. Garbage written into
them must neither hang the build nor end it with a traceback or a false message,
and nothing outside the rules may change: the build makes itself undumpable
before it creates the first pipe to a worker, so the neighbour cannot open those
at all. (It can still open the standard output that the build shares with its
launcher and the lifecycle, processes of the same user: out of reach.)

Against the code before the build made itself undumpable, the neighbour ended
the build with exit 1 and a false "a worker process died, most often the
out-of-memory killer".
"""

from __future__ import annotations

import subprocess
import sys

from safety_sandbox import (
    BUILD_GID,
    BUILD_UID,
    SETPRIV,
    TIMEOUT,
    Sandbox,
    allowed_changes,
    needs_root,
)
from test_safety_workers import _tree

pytestmark = needs_root

# Writes a length-prefixed message that is no pickle into every pipe of every
# other process it can reach, until <stop> exists; then prints how many it opened.
NEIGHBOUR = r"""
import os, sys
stop = sys.argv[1]
me = str(os.getpid())
garbage = (16).to_bytes(4, "big") + b"\x80\x05not a pickle!!"
opened = 0
print("ready", flush=True)
while not os.path.exists(stop):
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            path = f"/proc/{pid}/fd/{fd}"
            try:
                if not os.readlink(path).startswith("pipe:"):
                    continue
                handle = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue
            opened += 1
            try:
                os.write(handle, garbage)
            except OSError:
                pass
            os.close(handle)
print(opened)
"""


def test_a_neighbour_writing_garbage_into_pipes_through_proc_cannot_disturb_the_build(
    sb: Sandbox,
) -> None:
    _tree(sb)  # big enough for workers
    before = sb.snapshot()
    stop = sb.root / "stop"
    neighbour = subprocess.Popen(
        [SETPRIV, f"--reuid={BUILD_UID}", f"--regid={BUILD_GID}", "--clear-groups", "--",
         sys.executable, "-I", "-c", NEIGHBOUR, str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert neighbour.stdout is not None
    assert neighbour.stdout.readline() == "ready\n"
    command, env = sb.command("build")
    try:
        done = subprocess.run(
            command, cwd=sb.app, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
    finally:
        stop.touch()
        _, err = neighbour.communicate(timeout=TIMEOUT)
    assert neighbour.returncode == 0, err
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == 0, output
    assert "worker processes)" in output, output  # there were pipes to reach
    stop.unlink()
    problems = allowed_changes(before, sb.snapshot())
    assert not problems, "\n".join(problems[:20])
    assert sb.mode("data/d199/f099.txt") == 0o644
