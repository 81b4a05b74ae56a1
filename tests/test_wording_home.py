"""Every error a person reads is worded in ``wording``: no other module of the
package builds a ``UserError`` or ``PatternError`` from literal text."""

from __future__ import annotations

import ast
from pathlib import Path

import writable_paths

PACKAGE = Path(writable_paths.__file__).parent
ERRORS = {"UserError", "PatternError"}
# core/patterns.py and cli/manifest.py are being changed by other engineers right
# now; the lead removes this exemption at merge, when their texts move to wording.
EXEMPT = {"wording.py", "errors.py"}


def _literal(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and isinstance(n.value, str))
        for n in ast.walk(node)
    )


def _sites(path: Path, root: Path = PACKAGE) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        args = [*node.args, *(k.value for k in node.keywords)]
        if name in ERRORS and any(_literal(a) for a in args):
            found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_errors_are_worded_in_wording_only() -> None:
    left = [
        site
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE)) not in EXEMPT
        for site in _sites(path)
    ]
    assert left == [], "UserError/PatternError with literal text outside wording: " + ", ".join(
        left
    )


def test_the_check_finds_literal_text_and_passes_a_factory(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        'raise UserError(f"Cannot read {x}", "it failed")\n'
        "raise wording.log_unreadable(log, cause)\n"
        'raise errors.PatternError("origin", 1, problem, hint)\n'
        "raise UserError(title, detail)\n"
    )
    assert _sites(source, tmp_path) == ["m.py:1", "m.py:3"]
