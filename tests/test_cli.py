"""The command line: exit codes, formats, files, and the look-back commands, in-process and as a process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from httpserver import Content, LocalServer

from linkwatch import __version__
from linkwatch.cli import main

ROOT = Path(__file__).resolve().parent.parent
PDFS = ROOT / "tests" / "fixtures" / "pdfs"
FAST = ["--min-interval", "0", "--timeout", "5", "--no-progress"]


@pytest.fixture
def site(server: LocalServer, tmp_path: Path) -> Path:
    """A manifest of one good document (line 4) and one 404 (line 9)."""
    server.route("/res.pdf", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf"))
    path = tmp_path / "m.toml"
    path.write_text(
        '[defaults]\nlang = "en"\n\n'
        f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nurl = "{server.url("/res.pdf")}"\n\n'
        f'[[document]]\nid = "gone"\nsymbol = "A/RES/1/1"\nurl = "{server.url("/gone.pdf")}"\n')
    return path


def cli(*args: str | Path) -> int:
    return main([str(a) for a in args])


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"linkwatch {__version__}"


def test_check_table_and_exit_codes(site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "a"
    assert cli("check", site, "--archive", archive, *FAST) == 1
    out = capsys.readouterr().out
    assert "res" in out and "gone" in out and "broken" in out and "2 documents" in out
    assert cli("check", site, "--archive", archive, "--fail-on", "never", *FAST) == 0


def test_check_json_validates_against_documented_schema(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert cli("check", site, "--archive", tmp_path / "a", "--format", "json", "--output", out, *FAST) == 1
    report = json.loads(out.read_text())
    jsonschema.validate(report, json.loads((ROOT / "docs" / "report-schema.json").read_text()))
    docs = {d["id"]: d for d in report["documents"]}
    assert docs["res"]["status"] == "ok" and docs["res"]["symbols"] == ["A/RES/78/323"]
    assert docs["gone"]["status"] == "broken" and docs["gone"]["http_status"] == 404
    assert docs["gone"]["findings"][0]["kind"] == "broken"


def test_github_annotations_point_at_manifest_lines(site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli("check", site, "--archive", tmp_path / "a", "--format", "github", *FAST)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(lines) == 1 and f"file={site}" in lines[0] and "line=9" in lines[0]


def test_junit_has_one_testcase_per_document(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    cli("check", site, "--archive", tmp_path / "a", "--format", "junit", "--output", out, *FAST)
    cases = ET.parse(out).getroot().iter("testcase")
    failed = {c.get("name"): c.find("failure") is not None for c in cases}
    assert failed == {"res": False, "gone": True}


def test_markdown_for_a_job_summary(site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli("check", site, "--archive", tmp_path / "a", "--format", "markdown", *FAST)
    out = capsys.readouterr().out
    assert out.lstrip().startswith("#") and "| " in out and "gone" in out


@pytest.mark.parametrize("text, where", [
    ('[[document]]\nurl = "https://x.org/a.pdf"\nsymbl = "A/1"\n', ":3: document.symbl: unknown key"),
    ('[[document]]\ntitle = "A/1"\n', ":1: document.url: missing"),
    ('[[document]\n', ":1: syntax:"),
])
def test_bad_manifest_exits_2_with_location_and_no_traceback(tmp_path: Path, text: str, where: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    assert cli("check", bad, "--archive", tmp_path / "a", *FAST) == 2
    err = capsys.readouterr().err
    assert f"{bad}{where}" in err and "Traceback" not in err
    assert not (tmp_path / "a").exists()  # nothing touched before the manifest is known good


def test_unwritable_archive_exits_3(site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert cli("check", site, "--archive", blocker / "archive", *FAST) == 3
    assert "not usable" in capsys.readouterr().err


def test_status_history_diff_after_runs(server: LocalServer, site: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "a"
    cli("archive", site, "--archive", archive, *FAST)
    server.route("/res.pdf", Content.file(PDFS / "A_RES_73_8-EN.pdf", "application/pdf"))
    cli("archive", site, "--archive", archive, *FAST)
    capsys.readouterr()
    assert cli("status", "--archive", archive, "--format", "json") == 1
    state = {d["id"]: d["status"] for d in json.loads(capsys.readouterr().out)["documents"]}
    assert state == {"res": "wrong-document", "gone": "broken"}
    assert cli("history", "A/RES/78/323", "--archive", archive) == 0
    out = capsys.readouterr().out
    assert "res" in out and "ok" in out and "wrong-document" in out and "content-changed" in out
    assert cli("diff", "res", "--archive", archive) == 0
    out = capsys.readouterr().out
    assert "symbols: ['A/RES/78/323'] → ['A/RES/73/8']" in out and "+++ res@" in out
    assert cli("diff", "nope", "--archive", archive) == 2
    assert "no document 'nope'" in capsys.readouterr().err


def test_inspect_json_on_fixtures(capsys: pytest.CaptureFixture[str]) -> None:
    files = [PDFS / "A_80_62.en.pdf", PDFS / "A_78_1.en.pdf"]
    assert cli("inspect", *files, "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in rows] == [str(f) for f in files]
    assert rows[0]["symbols"] == ["A/80/62", "E/2025/12"] and rows[0]["lang"] == "en" and rows[0]["pages"] == 19
    assert rows[1]["placeholder"] is True and rows[1]["symbols"] == [] and rows[1]["error"] is None


def test_console_script_runs_as_a_process(site: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LINKWATCH_ARCHIVE": str(tmp_path / "env-archive")}
    done = subprocess.run([sys.executable, "-m", "linkwatch", "check", str(site), *FAST, "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["schema"] >= 1 and (tmp_path / "env-archive" / "index.sqlite").is_file()
    assert done.stderr == ""  # no progress bar when stderr is not a terminal


def _modules_after(code: str) -> set[str]:
    """The heavy or linkwatch modules loaded by ``code`` in a fresh interpreter."""
    probe = (f"import sys\n{code}\n"
             "print('\\n'.join(m for m in sys.modules if m.split('.')[0] in "
             "('linkwatch', 'rich', 'bs4', 'urllib3', 'aiohttp', 'pypdf', 'warcio', 'bagit', 'tenacity')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    return set(done.stdout.split())


def test_the_command_line_imports_what_a_command_needs_when_it_runs(tmp_path: Path) -> None:
    assert _modules_after("import linkwatch.cli") == {"linkwatch", "linkwatch.cli", "linkwatch.report",
                                                     "linkwatch.report.formats"}
    manifest = tmp_path / "m.toml"
    manifest.write_text('[[document]]\nid = "a"\nurl = "https://example.org/a.pdf"\n')
    linted = _modules_after(f"from linkwatch.cli import main\nassert main(['lint', {str(manifest)!r}]) == 0")
    assert "linkwatch.manifest" in linted and not linted & {"linkwatch.http.client", "linkwatch.run", "urllib3", "rich"}


def test_default_cdx_url_is_the_wayback_modules() -> None:
    from linkwatch import cli, wayback

    assert cli.DEFAULT_CDX_URL == wayback.DEFAULT_CDX_URL


def test_report_written_to_a_file_is_whole_or_absent(site: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    assert cli("check", site, "--archive", tmp_path / "a", "--format", "json", "--output", out, *FAST) == 1
    written = out.read_text("utf-8")
    assert cli("status", "--archive", tmp_path / "a", "--format", "json") == 1
    assert json.loads(written)["documents"] and written.endswith("}\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".r.json")] == []  # no temp file left
    missing = tmp_path / "no-such-dir" / "r.json"
    # Refused before any work (bad usage, exit 2), not found unwritable after a long run.
    assert cli("status", "--archive", tmp_path / "a", "--format", "json", "--output", missing) == 2
    assert not missing.parent.exists()
