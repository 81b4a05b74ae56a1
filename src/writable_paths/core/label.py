"""The image label's size limit: when naming every selection root would make the
label too large, name the deepest enclosing directories that fit instead."""

from __future__ import annotations

TYPE_CHECKING = False  # the build imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

LIMIT = 64 * 1024  # bytes of launch.toml's label value; labels live in the image config


def enclosing(roots: Sequence[str], size: Callable[[list[str]], int]) -> list[str]:
    """``roots`` (paths from the app root, "/"-separated) if ``size(roots)`` is
    within ``LIMIT``; else the smallest set of enclosing directories that is: each
    root cut to the greatest depth at which the whole set fits, deduplicated. At
    depth 0 that is the app directory alone, named by the empty path."""
    chosen = sorted(roots)
    if size(chosen) <= LIMIT:
        return chosen
    depth = max(root.count("/") for root in chosen) + 1
    while depth > 0:
        depth -= 1
        cut = sorted({"/".join(root.split("/")[:depth]) for root in chosen})
        if size(cut) <= LIMIT:
            return cut
    return [""]
