"""The Buildpack API edge: inputs, exit codes, buildpack.toml, launch.toml."""

from __future__ import annotations

import os

# Detect imports this module: keep it to os (typing, dataclasses and json cost
# 6 to 12 ms each at start-up, more than the whole detect answer).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

EXIT_PASS = 0
EXIT_ERROR = 1  # a user error: the message says what to do
EXIT_BUG = 70  # an internal error (EX_SOFTWARE)
LABEL = "writable-paths"


class DetectInputs:
    __slots__ = ("app_dir", "buildpack_dir", "plan_path", "platform_dir")

    def __init__(
        self, app_dir: str, buildpack_dir: str, platform_dir: str | None, plan_path: str | None
    ) -> None:
        self.app_dir = app_dir
        self.buildpack_dir = buildpack_dir
        self.platform_dir = platform_dir
        self.plan_path = plan_path


class BuildInputs:
    __slots__ = ("app_dir", "buildpack_dir", "layers_dir", "plan_path", "platform_dir")

    def __init__(
        self,
        app_dir: str,
        buildpack_dir: str,
        layers_dir: str,
        platform_dir: str | None,
        plan_path: str | None,
    ) -> None:
        self.app_dir = app_dir
        self.buildpack_dir = buildpack_dir
        self.layers_dir = layers_dir
        self.platform_dir = platform_dir
        self.plan_path = plan_path


def _pick(environ: Mapping[str, str], name: str, args: Sequence[str], index: int) -> str | None:
    """The env variable (Buildpack API 0.8+), else the deprecated positional argument."""
    value = environ.get(name)
    if value:
        return value
    return args[index] if len(args) > index and args[index] else None


def detect_inputs(
    buildpack_dir: str, args: Sequence[str], environ: Mapping[str, str]
) -> DetectInputs:
    return DetectInputs(
        app_dir=os.getcwd(),
        buildpack_dir=environ.get("CNB_BUILDPACK_DIR") or buildpack_dir,
        platform_dir=_pick(environ, "CNB_PLATFORM_DIR", args, 0),
        plan_path=_pick(environ, "CNB_BUILD_PLAN_PATH", args, 1),
    )


def build_inputs(
    buildpack_dir: str, args: Sequence[str], environ: Mapping[str, str]
) -> BuildInputs:
    layers = _pick(environ, "CNB_LAYERS_DIR", args, 0)
    if layers is None:
        from .. import wording

        raise SystemExit(wording.NO_LAYERS)
    return BuildInputs(
        app_dir=os.getcwd(),
        buildpack_dir=environ.get("CNB_BUILDPACK_DIR") or buildpack_dir,
        layers_dir=layers,
        platform_dir=_pick(environ, "CNB_PLATFORM_DIR", args, 1),
        plan_path=_pick(environ, "CNB_BP_PLAN_PATH", args, 2),
    )


def buildpack_title() -> str:
    """``<name> <version>``, as buildpack.toml has them, for the title line."""
    from .. import NAME, __version__

    return f"{NAME} {__version__}"


def label_value(roots: Sequence[str]) -> str:
    """The ``writable-paths`` label: a JSON array of the absolute paths of the
    selection's roots, in ASCII."""
    return "[" + ", ".join(_json_string(root) for root in roots) + "]"


def write_launch_label(layers_dir: str, roots: Sequence[str]) -> str:
    """Write ``launch.toml`` with the ``writable-paths`` label (``label_value``).

    The document has one fixed shape, so it is written here rather than with a
    TOML library: importing one (and ``json``, whose decoder imports ``re``)
    costs 7 ms, more than the rest of a build on a small app. The JSON comes
    from json's own C encoder; tests parse the result with two TOML parsers.
    """
    text = f"[[labels]]\nkey = {toml_string(LABEL)}\nvalue = {toml_string(label_value(roots))}\n"
    path = os.path.join(layers_dir, "launch.toml")
    write_replacing(path, text.encode("ascii"))
    return path


def write_replacing(path: str, data: bytes) -> None:
    """Put ``data`` at ``path`` whole or not at all, never writing through a
    link: into a new file beside it (``O_CREAT | O_EXCL | O_NOFOLLOW``), then
    renamed over ``path`` (a symlink there is replaced, not followed). Raises
    ``OSError``; a failed write leaves no temporary file behind."""
    temp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp, path)
    except BaseException:
        try:  # noqa: SIM105 - not contextlib.suppress: importing contextlib costs detect 3 ms
            os.unlink(temp)
        except OSError:
            pass
        raise


def _json_string(text: str) -> str:
    """``text`` as a JSON string in ASCII, exactly as ``json.dumps`` writes it."""
    try:
        from _json import encode_basestring_ascii
    except ImportError:  # an interpreter without json's C accelerator
        from json.encoder import encode_basestring_ascii
    encoded: str = encode_basestring_ascii(text)
    return encoded


def toml_string(text: str) -> str:
    """A TOML basic string holding ``text``, which must be ASCII: ``\\`` and
    ``"`` are escaped, and so are the control characters TOML forbids."""
    if not text.isascii():
        raise ValueError("toml_string takes ASCII text")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if " " <= c < "\x7f" else f"\\u{ord(c):04X}" for c in escaped) + '"'
