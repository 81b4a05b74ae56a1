"""The GitHub workflows: what they run, and that `make lint` refuses broken ones.

The lint runs the real tools (check-jsonschema, zizmor) on copies of .github that are
broken in one way each; nothing here can run a workflow (docs/releasing.md says what
only a real run proves).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from support import REPO

GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
#: ``uses: owner/repo@<full commit SHA> # v1.2.3``: Dependabot updates both together.
PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*")


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def runs(job: dict[str, Any]) -> list[str]:
    return [step["run"].strip() for step in job["steps"] if "run" in step]


def make_commands(lines: list[str]) -> list[str]:
    """``make <target>`` of each line that is a make command, options dropped."""
    return [line.split()[1] for line in lines if line.startswith("make ")]


def test_ci_runs_the_make_steps_of_ci_run_in_order() -> None:
    ci_run = (REPO / ".ci" / "run").read_text().splitlines()
    job = load(GITHUB / "workflows" / "ci.yml")["jobs"]["test"]
    assert make_commands(runs(job)) == make_commands(ci_run)
    assert make_commands(ci_run) == [
        "install",
        "lint",
        "test",
        "integration-package",
        "integration-oci",
    ]
    assert "make lint REQUIRE_ACTIONLINT=1" in runs(job)


def test_the_release_checks_the_tag_before_it_builds_and_packages_both_forms() -> None:
    workflow = load(GITHUB / "workflows" / "release.yml")
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    steps = runs(workflow["jobs"]["build"])
    assert steps[1].startswith('python3 package/release.py check-tag "$TAG"')
    assert steps[2] == "python3 package/release.py check-on-branch main"
    (checkout,) = [s for s in workflow["jobs"]["build"]["steps"] if "checkout" in s.get("uses", "")]
    assert checkout["with"]["fetch-depth"] == 0  # origin/main is there to check against
    assert make_commands(steps) == [
        "install",
        "lint",
        "test",
        "integration-package",
        "integration-oci",  # make package-oci, then the scenarios against its .cnb
    ]
    assert workflow["jobs"]["publish"]["permissions"] == {
        "contents": "write",
        "packages": "write",
    }
    assert workflow["jobs"]["register"]["permissions"] == {}


def test_every_action_is_pinned_by_commit_with_its_version_beside_it() -> None:
    uses = [
        line.split("uses:", 1)[1].strip()
        for path in WORKFLOWS
        for line in path.read_text().splitlines()
        if line.strip().startswith(("uses:", "- uses:"))
    ]
    assert len(uses) >= 4
    for use in uses:
        assert PINNED.fullmatch(use), use


def lint(github: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "-C", str(REPO), "lint-github", f"GITHUB_DIR={github}"],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def github(tmp_path: Path) -> Path:
    copy = tmp_path / ".github"
    shutil.copytree(GITHUB, copy)
    return copy


def test_lint_passes_the_workflows_as_they_are(github: Path) -> None:
    result = lint(github)
    assert result.returncode == 0, result.stdout + result.stderr


def break_file(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("file", "old", "new", "said"),
    [
        # A misspelt key: the schema refuses it.
        ("workflows/ci.yml", "timeout-minutes: 45", "timeout-minute: 45", "timeout-minute"),
        # A tag instead of a commit: zizmor's unpinned-uses with .github/zizmor.yml.
        (
            "workflows/release.yml",
            "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
            "actions/checkout@v7",
            "unpinned-uses",
        ),
        # A value from the event expanded into a script: zizmor's template-injection.
        (
            "workflows/ci.yml",
            "- run: make test",
            "- run: echo ${{ github.event.pull_request.title }}",
            "template-injection",
        ),
        # A schedule Dependabot does not know.
        ("dependabot.yml", "interval: weekly", "interval: fortnightly", "fortnightly"),
    ],
)
def test_lint_fails_on_a_broken_workflow_and_names_it(
    github: Path, file: str, old: str, new: str, said: str
) -> None:
    break_file(github / file, old, new)
    result = lint(github)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert said in output
    assert str(github / file) in output or file in output
