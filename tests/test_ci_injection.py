"""Nothing from a stranger is taken for a CI runner's command (issue 12, items 1 and 2).

A GitHub Actions runner reads every line a job prints: ``::command …::`` at the start of a line
(leading blanks allowed) and the legacy ``##[command]`` anywhere in a line are acted on. Here a
real run reads a PDF whose page-1 title carries both, and every output is read back as the runner
would read it (:func:`commands`): under ``GITHUB_ACTIONS=true`` human output is fenced by
``::stop-commands::TOKEN`` … ``::TOKEN::``, and in every format, in and out of Actions, the text
itself is inert (``## [``, ``: :``). pypdf's log, which quotes a file's font names, never reaches
stderr.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_files import evil_encoding_name, un_page
from httpserver import Content, LocalServer

from linkwatch.cli import main
from linkwatch.report.formats import FORMATS

ROOT = Path(__file__).resolve().parent.parent
# Words long and many enough that rich wraps the title-mismatch line, putting "::error" at the
# start of a continuation line were it not made inert.
TITLE = ("##[ERROR]LEGACY ::ERROR FILE=EVIL.TOML,LINE=1::PWNED THE " + "WRAPPED " * 8
         + "::WARNING::AGAIN TITLE")
ANNOTATION = re.compile(r"::(error|warning|notice) file=[^:]*,line=\d+,title=[^:]*::")


def commands(output: str) -> list[str]:
    """The lines a GitHub Actions runner would act on, as it reads them."""
    acted, stopped = [], None
    for line in output.splitlines():
        text = line.lstrip()
        if stopped is not None:
            if text == f"::{stopped}::":
                stopped = None
            continue
        if text.startswith("::stop-commands::"):
            stopped = text[len("::stop-commands::"):]
        elif text.startswith("::") or "##[" in line:
            acted.append(line)
    return acted


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("ci-injection")
    pdf = un_page(["United Nations A/79/999", "Distr.: General", "Original: English", TITLE, "",
                   "The body of the report is in lower case and follows the title."])
    (tmp / "title.pdf").write_bytes(pdf)
    with LocalServer() as server:
        manifest = tmp / "m.toml"
        manifest.write_text(f'[[document]]\nid = "t"\nsymbol = "A/79/999"\ntitle = "A calm title"\n'
                            f'url = "{server.route("/t.pdf", Content(pdf, "application/pdf"))}"\n')
        assert main(["check", str(manifest), "--archive", str(tmp / "a"), "--no-progress", "--retries", "0",
                     "--format", "json", "--output", str(tmp / "first.json")]) == 0
    return tmp, manifest


def _status(archive: tuple[Path, Path], fmt: str, capsys) -> str:
    tmp, manifest = archive
    main(["status", str(manifest), "--archive", str(tmp / "a"), "--format", fmt])
    return capsys.readouterr().out


@pytest.mark.parametrize("actions", [False, True], ids=["terminal", "github-actions"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_pdf_title_is_never_a_workflow_command(archive, fmt: str, actions: bool, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true") if actions else monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    out = _status(archive, fmt, capsys)
    assert "LEGACY" in out and "PWNED" in out  # the title is shown (as text), not dropped
    acted = commands(out)
    if fmt == "github":  # its own annotations are meant as commands: nothing else may be one
        assert acted and all(ANNOTATION.match(line) and "##[" not in line for line in acted), acted
        assert "::stop-commands::" not in out
    else:
        assert acted == []
        # Fenced under Actions (fresh token each time), and inert as text in any case.
        assert out.startswith("::stop-commands::") == actions
        lines = out.splitlines()
        assert commands("\n".join(lines[1:-1] if actions else lines)) == []  # the text inside, unfenced


def test_the_fence_token_is_fresh_each_time(archive, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    first, second = (_status(archive, "table", capsys).splitlines()[0] for _ in range(2))
    assert first != second and len(first) >= len("::stop-commands::") + 32


def test_inspect_output_is_inert(archive, capsys, monkeypatch) -> None:
    tmp, _ = archive
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    for fmt in ("table", "json"):
        main(["inspect", str(tmp / "title.pdf"), "--format", fmt])
        out = capsys.readouterr().out
        assert "LEGACY" in out and commands(out) == [], out


def test_pypdf_log_never_reaches_stderr(tmp_path: Path) -> None:
    # pypdf logs an unknown /Encoding name, decoded: a line break, ESC, "::error", "##[error]".
    pdf = tmp_path / "evil.pdf"
    pdf.write_bytes(evil_encoding_name())
    for engine in ("pypdf", "auto"):
        done = subprocess.run([sys.executable, "-m", "linkwatch", "inspect", str(pdf)], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, env={**__import__("os").environ, "LINKWATCH_INSPECT_ENGINE": engine})
        assert "A/79/1" in done.stdout  # read, as before
        assert done.stderr == "", done.stderr
