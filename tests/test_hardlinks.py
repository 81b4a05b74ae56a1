"""The hard-link records on real trees: sightings as the walk sees them, sent
through pickle as a worker sends them, grouped by inode when settled."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from writable_paths.core.decide import NO_MATCH, Decision
from writable_paths.fs import hardlinks
from writable_paths.fs.hardlinks import HardLinks, Linked
from writable_paths.fs.walk import Entry, Walk

SELECTED = Decision(True, "test: selected")
TIGHTEN = NO_MATCH


def record(app: Path, links: HardLinks, selected_dir: str = "", base: tuple[str, ...] = ()) -> None:
    """Walk ``app`` (or its subdirectory ``base``, as a worker walks a job) and
    record every regular file with several links: 0664 where its path starts
    with ``selected_dir``, else 0644."""

    def visit(entry: Entry, _: object) -> object:
        st = entry.stat
        if os.path.isfile(os.path.join(app, entry.path)) and st.st_nlink > 1:
            chosen = bool(selected_dir) and entry.path.startswith(selected_dir)
            if chosen:
                links.add(entry, 0o664, 4242, SELECTED)
            else:
                links.add(entry, 0o644, None, TIGHTEN)
        return TIGHTEN

    def unreadable(path: str, err: OSError) -> None:
        raise AssertionError(f"{path}: {err}")

    fd = os.open(app.joinpath(*base), os.O_RDONLY | os.O_DIRECTORY)
    try:
        Walk(fd, TIGHTEN, visit, unreadable, base=base).run()  # type: ignore[arg-type]
    finally:
        os.close(fd)


def settle(app: Path, links: HardLinks) -> tuple[list[Linked], list[tuple[str, int]]]:
    changed: list[Linked] = []

    def change(names: tuple[str, ...], key: tuple[int, int], linked: Linked) -> None:
        st = os.stat(app.joinpath(*names), follow_symlinks=False)
        assert (st.st_dev, st.st_ino) == key
        assert names == linked.names
        changed.append(linked)

    fd = os.open(app, os.O_RDONLY | os.O_DIRECTORY)
    try:
        left = [(linked.path, seen) for linked, seen in links.settle(fd, change)]
    finally:
        os.close(fd)
    return changed, left


def pnpm_app(root: Path, files: int) -> Path:
    """``files`` files in a store, each linked once more under node_modules."""
    (root / "store").mkdir(parents=True)
    for i in range(files):
        package = root / "node_modules" / f"pkg{i // 10}"
        package.mkdir(parents=True, exist_ok=True)
        (root / "store" / f"f{i}").write_bytes(b"x")
        os.link(root / "store" / f"f{i}", package / f"f{i}.js")
    return root


def test_a_selected_link_decides_and_the_first_link_by_name_stands_for_the_file(
    tmp_path: Path,
) -> None:
    app = pnpm_app(tmp_path, 3)
    links = HardLinks()
    record(app, links, selected_dir="store")
    assert links.sightings == 6
    changed, left = settle(app, links)
    assert left == []
    assert sorted(linked.path for linked in changed) == [
        "node_modules/pkg0/f0.js",
        "node_modules/pkg0/f1.js",
        "node_modules/pkg0/f2.js",
    ]
    for linked in changed:
        assert (linked.mode, linked.gid, linked.decision) == (0o664, 4242, SELECTED)
        assert linked.links == 2
        assert linked.old_mode & 0o777 == 0o644
        assert linked.needs_change()


def test_files_are_settled_in_the_order_of_their_first_sighting(tmp_path: Path) -> None:
    app = pnpm_app(tmp_path, 40)
    links = HardLinks()
    record(app, links)
    order_seen: list[int] = []
    for i in range(links.sightings):
        st = os.stat(app.joinpath(*links._place(i)))
        if st.st_ino not in order_seen:
            order_seen.append(st.st_ino)
    changed, _ = settle(app, links)
    assert [os.stat(app.joinpath(*linked.names)).st_ino for linked in changed] == order_seen


def test_a_link_outside_the_app_leaves_the_file_as_it_is(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "data").mkdir(parents=True)
    (tmp_path / "layer").mkdir()
    (tmp_path / "layer" / "shared.db").write_bytes(b"")
    os.link(tmp_path / "layer" / "shared.db", app / "data" / "shared.db")
    links = HardLinks()
    record(app, links, selected_dir="data")
    changed, left = settle(app, links)
    assert changed == []
    assert left == [("data/shared.db", 1)]


def test_a_link_gone_since_it_was_seen_leaves_the_file_as_it_is(tmp_path: Path) -> None:
    app = pnpm_app(tmp_path, 1)
    links = HardLinks()
    record(app, links, selected_dir="store")
    os.rename(app / "store" / "f0", app / "store" / "moved")
    changed, left = settle(app, links)
    assert changed == []
    assert left == [("node_modules/pkg0/f0.js", 1)]


def test_thousands_of_files_are_grouped_across_buckets(tmp_path: Path) -> None:
    files = 3 * hardlinks._PER_BUCKET  # six buckets of sightings
    app = pnpm_app(tmp_path, files)
    links = HardLinks()
    record(app, links, selected_dir="node_modules")
    changed, left = settle(app, links)
    assert left == []
    assert len(changed) == files
    assert len({linked.path for linked in changed}) == files
    assert all(linked.path.startswith("node_modules/") for linked in changed)
    assert all(linked.decision is SELECTED for linked in changed)


def test_what_workers_send_merges_into_the_same_settlement(tmp_path: Path) -> None:
    """Each half of the tree recorded apart, sent through pickle as a worker's
    results are, and merged: the same files, modes and order as one walk."""
    app = pnpm_app(tmp_path, 30)
    whole = HardLinks()
    record(app, whole, selected_dir="store")
    merged = HardLinks()
    for half in ("node_modules", "store"):
        part = HardLinks()
        record(app, part, selected_dir="store", base=(half,))
        if half == "store":  # as parallel sends it: the arrays out of band
            buffers: list[pickle.PickleBuffer] = []
            data = pickle.dumps(part, protocol=5, buffer_callback=buffers.append)
            assert len(buffers) == 5
            sent = pickle.loads(data, buffers=[bytes(b.raw()) for b in buffers])
        else:
            sent = pickle.loads(pickle.dumps(part, protocol=4))
        merged.merge(sent)
    assert merged.sightings == whole.sightings
    one, _ = settle(app, whole)
    two, _ = settle(app, merged)
    assert sorted(linked.path for linked in one) == sorted(linked.path for linked in two)
    assert {(linked.mode, linked.gid) for linked in two} == {(0o664, 4242)}


def test_a_sighting_costs_tens_of_bytes_not_an_object(tmp_path: Path) -> None:
    """The records of 2,000 links, pickled as a worker sends them: well under the
    1.8 KB per link that objects took."""
    app = pnpm_app(tmp_path, 1000)
    links = HardLinks()
    record(app, links)
    size = len(pickle.dumps(links))
    assert size / links.sightings < 100
