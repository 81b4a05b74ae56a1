"""Worker processes that walk subtrees of a large app side by side.

What each entry costs is a ``stat``, where needed a ``chmod``, and Python's own
work around them; one process cannot overlap them, several can. A directory's
subtree depends only on the directory and the context it is entered with (what
the patterns still can match beneath it), so subtrees can be walked anywhere,
in any order, with the same result.

The build's process walks alone until it has entered ``START_AFTER``
directories (a small app never starts a worker). Then it starts the workers,
forked so that they share the compiled patterns, and from then on hands each
directory it would enter to them instead. A worker that meets a waiting worker
gives it the directory nearest its own job's root that it has not entered yet,
so one huge ``node_modules`` or ``vendor`` does not leave the other cores idle.

Each worker walks with the build's own ``Walk`` and visit rule and returns its
counts, warnings and hard-linked files; the build merges them and settles the
hard links itself, once it has seen every link. The job queue is one pipe.
A counter of outstanding jobs (the build's own walk holds one until it ends)
tells the last worker to finish when to send everyone home.
"""

from __future__ import annotations

import os
import sys

from .beneath import open_checked
from .walk import Entry, OutOfDescriptors, Sharing, TreeChanged, descriptor_budget

TYPE_CHECKING = False  # imported by every build: multiprocessing only once workers start
if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import ForkProcess
    from multiprocessing.sharedctypes import Synchronized
    from multiprocessing.synchronize import Lock

    from ..core.decide import Context

# A job: the directory's names from the app root, its (st_dev, st_ino), and
# the context to enter it with.
Job = tuple[tuple[str, ...], tuple[int, int], "Context"]

MAX_WORKERS = 8
# Jobs waiting per worker before the build walks a directory itself. A job is a
# path, so this many stay well within the pipe's 64 KiB: workers that stop reading
# (killed) can never block the build, which notices them at the end.
QUEUED_PER_WORKER = 16
START_AFTER = 64  # directories entered before workers start (about 1,300 entries here)
# Directories the walk could keep open below which the build walks alone: each
# worker starts with the build's descriptors and needs as many of its own (with
# an open-files limit of 16 or 18, two workers ran out and skipped directories).
WORKERS_NEED = 32
_POLL_SECONDS = 0.5  # how often a waiting worker checks that the build still runs
_PR_SET_DUMPABLE = 4  # prctl(2)


def _undumpable() -> None:
    """Keep other processes of the build user out of this one and the workers it
    forks: while a process is dumpable, any process of its user can open its
    pipes and shared memory through ``/proc/<pid>/fd`` and write into them (a
    neighbour's garbage there ended builds with a worker "died" message). Not
    dumpable, its ``/proc`` entries are root's; the process itself still uses
    its own ``/proc/self/fd``."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        pass  # no ctypes or no prctl: the pipes stay as reachable as any file of the user


def worker_count() -> int:
    """The CPUs this process may use: its affinity mask, capped by a cgroup v2
    CPU quota (``docker run --cpus``) and by ``MAX_WORKERS``."""
    cpus = len(os.sched_getaffinity(0))
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as handle:
            quota, period = handle.read().split()
        if quota != "max":
            cpus = min(cpus, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return min(cpus, MAX_WORKERS)


class WorkerLost(Exception):
    """A worker process ended without sending its results (killed, most often)."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"a worker process died (exit code {exitcode})")
        self.exitcode = exitcode


class Channel:
    """The job pipe and the counters the processes share."""

    def __init__(self, workers: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.workers = workers
        self._reader, self._writer = context.Pipe(duplex=False)
        self._read_lock = context.Lock()
        self._write_lock = context.Lock()
        self._lock = context.Lock()
        # Jobs handed out and not finished; the build's own walk counts as one.
        self._outstanding: Synchronized[int] = context.Value("q", 1, lock=False)
        # Read without the lock, as hints: workers waiting, jobs waiting.
        self.idle: Synchronized[int] = context.RawValue("i", 0)
        self.queued: Synchronized[int] = context.RawValue("i", 0)
        self.context = context
        self.build = os.getpid()
        # The workers, once started (the build's process alone looks at them).
        self.processes: list[ForkProcess] = []

    def _acquire(self, lock: Lock) -> None:
        """Take ``lock``; a worker whose build is gone exits instead of waiting.
        The build stops waiting when a worker was killed: it may have died holding
        the lock, which then is never released."""
        while not lock.acquire(timeout=_POLL_SECONDS):
            if os.getpid() != self.build:
                _exit_if_orphaned(self.build)
                continue
            for process in self.processes:
                if process.exitcode not in (None, 0):
                    raise WorkerLost(process.exitcode)

    def _count(self, outstanding: int, queued: int, idle: int) -> int:
        """Change the counters together; the jobs outstanding afterwards."""
        self._acquire(self._lock)
        try:
            self._outstanding.value += outstanding
            self.queued.value += queued
            self.idle.value += idle
            return self._outstanding.value
        finally:
            self._lock.release()

    def submit(self, job: Job) -> None:
        self._count(+1, +1, 0)
        self._acquire(self._write_lock)
        try:
            self._writer.send(job)
        finally:
            self._write_lock.release()

    def finished(self) -> None:
        """One job (or the build's own walk) is done; after the last, stop everyone."""
        if self._count(-1, 0, 0) == 0:
            self._acquire(self._write_lock)
            try:
                for _ in range(self.workers):
                    self._writer.send(None)
            finally:
                self._write_lock.release()

    def next_job(self) -> Job | None:
        """The next job, or None when all work is done. Exits if the build died."""
        self._count(0, 0, +1)
        self._acquire(self._read_lock)
        try:
            while not self._reader.poll(_POLL_SECONDS):
                _exit_if_orphaned(self.build)
            job: Job | None = self._reader.recv()
        finally:
            self._read_lock.release()
        self._count(0, -1 if job is not None else 0, -1)
        return job


def _exit_if_orphaned(parent: int) -> None:
    if os.getppid() != parent:
        os._exit(1)


class WorkerSharing(Sharing):
    """A worker's walk: gives a directory away while another worker waits."""

    def __init__(self, channel: Channel, parent: int) -> None:
        self._channel = channel
        self._parent = parent

    def hungry(self) -> bool:
        # Asked once per directory: also the moment to notice the build is gone.
        _exit_if_orphaned(self._parent)
        return self._channel.idle.value > self._channel.queued.value

    def give(self, entry: Entry, state: Context) -> None:
        st = entry.stat
        self._channel.submit((entry.names, (st.st_dev, st.st_ino), state))


# What a worker sends back: ("ok", its results) or ("error", a traceback).
Outcome = tuple[str, object]


class Worker:
    """What a worker process does; the engine's ``Pass`` is one."""

    def begin(self) -> None:
        """Forget what the build's process had counted before the fork."""

    def run_job(self, job: Job, sharing: Sharing) -> None:
        """Walk the job's directory."""

    def results(self) -> object:
        """What this worker found, to be merged by the build's process."""


class Pool(Sharing):
    """The build's side: starts the workers when the tree proves large, then
    gives them every directory its walk would enter."""

    def __init__(self, workers: int, worker: Worker, start_after: int = START_AFTER) -> None:
        self._workers = workers
        self._worker = worker
        self._countdown = start_after
        self._channel: Channel | None = None
        self._processes: list[tuple[ForkProcess, Connection]] = []

    def take(self, entry: Entry, state: Context) -> bool:
        if self._channel is None:
            self._countdown -= 1
            if self._countdown != 0:
                return False
            self._start()
            if self._channel is None:
                return False
        if self._channel.queued.value >= QUEUED_PER_WORKER * self._channel.workers:
            return False
        st = entry.stat
        self._channel.submit((entry.names, (st.st_dev, st.st_ino), state))
        return True

    def _start(self) -> None:
        if descriptor_budget() < WORKERS_NEED:
            return  # too few descriptors to share: the build walks alone
        _undumpable()  # before the first pipe exists
        try:
            channel = Channel(self._workers)
        except (OSError, ImportError):  # no /dev/shm for its lock, no ctypes: walk alone
            return
        self._channel = channel
        # Forked workers inherit unwritten output and would write it again.
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        for _ in range(self._workers):
            receiver, sender = channel.context.Pipe(duplex=False)
            process = channel.context.Process(
                target=_work, args=(channel, parent, self._worker, sender)
            )
            process.daemon = True
            try:
                process.start()
            except OSError:  # no more processes allowed (a pids limit): fewer workers
                receiver.close()
                break
            finally:
                sender.close()
            self._processes.append((process, receiver))
        channel.workers = len(self._processes)
        channel.processes = [process for process, _ in self._processes]
        if not self._processes:
            self._channel = None  # the build walks alone

    def finish(self) -> list[object]:
        """After the build's own walk: wait for the workers, return their results."""
        if self._channel is None:
            return []
        from multiprocessing.connection import wait

        self._channel.finished()
        outcomes: list[object] = []
        pending = dict(self._processes)
        try:
            while pending:
                ready = wait(list(pending.values()))
                for process, receiver in list(pending.items()):
                    if receiver not in ready:
                        continue
                    try:
                        kind, value = _receive(receiver)
                    except EOFError:  # it died without a word
                        process.join()
                        raise WorkerLost(process.exitcode) from None
                    if kind == "moved":
                        assert isinstance(value, str)
                        raise TreeChanged(value)
                    if kind == "descriptors":
                        assert isinstance(value, tuple)
                        raise OutOfDescriptors(*value)
                    if kind != "ok":
                        raise RuntimeError(f"a worker process failed:\n{value}")
                    outcomes.append(value)
                    del pending[process]
        except BaseException:
            self.abort()
            raise
        for process, receiver in self._processes:
            process.join()
            receiver.close()
        self._processes = []
        return outcomes

    def abort(self) -> None:
        """Stop the workers after an error, and reap them."""
        for process, receiver in self._processes:
            if process.is_alive():
                process.terminate()
            process.join()
            receiver.close()
        self._processes = []


def _work(
    channel: Channel,
    parent: int,
    worker: Worker,
    sender: Connection,
) -> None:
    """A worker's life: run jobs until told to stop, then send the results."""
    try:
        worker.begin()
        sharing = WorkerSharing(channel, parent)
        while True:
            job = channel.next_job()
            if job is None:
                break
            worker.run_job(job, sharing)
            channel.finished()
        outcome: Outcome = ("ok", worker.results())
    except TreeChanged as err:
        outcome = ("moved", err.path)
    except OutOfDescriptors as err:
        outcome = ("descriptors", (err.path, err.cause))
    except BaseException:
        import traceback

        outcome = ("error", traceback.format_exc())
    _send(sender, outcome)
    sender.close()


def _send(sender: Connection, outcome: Outcome) -> None:
    """Send ``outcome`` with its large arrays out of band (pickle protocol 5):
    written from the worker's own memory, never copied into one pickle first."""
    import pickle

    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(outcome, protocol=5, buffer_callback=buffers.append)
    sender.send_bytes(len(buffers).to_bytes(4, "little") + data)
    for buffer in buffers:
        sender.send_bytes(buffer.raw())


def _receive(receiver: Connection) -> Outcome:
    """What ``_send`` sent. Raises ``EOFError`` if the worker died first."""
    import pickle

    data = receiver.recv_bytes()
    count = int.from_bytes(data[:4], "little")
    buffers = [receiver.recv_bytes() for _ in range(count)]
    kind, value = pickle.loads(memoryview(data)[4:], buffers=buffers)
    return str(kind), value


def open_job(root_fd: int, job: Job) -> int:
    """Open the job's directory from the app root, never through a symlink, and
    check it is the directory the build saw. Raises ``OSError``."""
    names, ident, _ = job
    return open_checked(root_fd, names, ident)
