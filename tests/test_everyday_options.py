"""What users of lychee and LinkChecker reach for: --user-agent (and per host), --include/--exclude,
--dry-run, a configuration file found by convention, shell completion, a typed Python API."""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
import typing
from pathlib import Path

import pytest
from httpserver import Content, LocalServer

import linkwatch
from linkwatch.cli import main
from linkwatch.run import Options, RunOptions

PDF = Path(__file__).parent / "fixtures" / "pdfs" / "A_RES_78_323.en.pdf"
FAST = ["--retries", "0", "--min-interval", "0", "--timeout", "5", "--no-progress"]


def _manifest(path: Path, urls: dict[str, str], head: str = "") -> Path:
    path.write_text(head + "".join(f'[[document]]\nid = "{i}"\nurl = "{u}"\n\n' for i, u in urls.items()),
                    encoding="utf-8")
    return path


@pytest.fixture
def urls(server: LocalServer) -> dict[str, str]:
    pdf = Content.file(PDF, "application/pdf")
    return {"res-a": server.route("/keep/a.pdf", pdf), "res-b": server.route("/keep/b.pdf", pdf),
            "other": server.route("/skip/c.pdf", pdf)}


def test_user_agent_option_and_per_host_header(server: LocalServer, urls: dict[str, str], tmp_path: Path) -> None:
    path = _manifest(tmp_path / "m.toml", {"res-a": urls["res-a"]})
    assert main(["check", str(path), "--archive", str(tmp_path / "a"), "--user-agent", "our-checker/2.0", *FAST]) == 0
    assert server.requests("/keep/a.pdf")[-1].headers["user-agent"] == "our-checker/2.0"
    host = urls["res-a"].split("/")[2]  # host:port: a bare host means its scheme's default port
    per_host = f'[hosts."{host}"]\nheaders = {{ User-Agent = "special-for-this-host" }}\n\n'
    path = _manifest(tmp_path / "h.toml", {"res-a": urls["res-a"]}, head=per_host)
    assert main(["check", str(path), "--archive", str(tmp_path / "b"), "--user-agent", "our-checker/2.0", *FAST]) == 0
    assert server.requests("/keep/a.pdf")[-1].headers["user-agent"] == "special-for-this-host"


def test_include_and_exclude_by_id_and_url(server: LocalServer, urls: dict[str, str], tmp_path: Path) -> None:
    path = _manifest(tmp_path / "m.toml", urls)
    report = linkwatch.check(path, archive=tmp_path / "a", include=("res-*",), exclude=("*/keep/b.pdf",),
                             progress=False, retries=0, min_interval=0.0)
    assert [d.id for d in report.documents] == ["res-a"]
    assert server.hits("/skip/c.pdf") == 0 and server.hits("/keep/b.pdf") == 0
    assert main(["check", str(path), "--archive", str(tmp_path / "a"), "--exclude", "*/skip/*", *FAST]) == 0
    assert server.hits("/keep/b.pdf") == 1 and server.hits("/skip/c.pdf") == 0


def test_dry_run_lists_requests_and_touches_nothing(server: LocalServer, urls: dict[str, str], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.toml"
    path.write_text(f'[[document]]\nid = "res-a"\nurl = "{urls["res-a"]}"\nmirrors = ["{urls["res-b"]}"]\n\n'
                    f'[[document]]\nid = "other"\nurl = "{urls["other"]}"\n', encoding="utf-8")
    assert main(["check", str(path), "--archive", str(tmp_path / "a"), "--dry-run", "--exclude", "other"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].split() == ["document", "method", "url", "via"]
    assert lines[1].split() == ["res-a", "GET", urls["res-a"], "direct"]
    assert lines[2].split() == ["res-a", "then", urls["res-b"], "direct"] and len(lines) == 3
    assert "1 document, 2 URL(s)" in out.err and "nothing was fetched" in out.err
    assert server.hits() == 0 and not (tmp_path / "a").exists()
    planned = linkwatch.dry_run(path, availability_only=True)
    assert [(p.document.id, p.method) for p in planned] == [("res-a", "HEAD"), ("other", "HEAD")]


def test_config_file_found_by_convention(server: LocalServer, urls: dict[str, str], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("LINKWATCH_CONFIG", raising=False)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "manifests").mkdir()
    _manifest(repo / "manifests" / "refs.toml", urls)
    (repo / "linkwatch.toml").write_text('manifests = ["manifests/*.toml"]\nexclude = ["other"]\n'
                                         'user-agent = "from-config/1"\nretries = 0\nmin-interval = 0\n'
                                         'no-progress = true\narchive = "archive"\n', encoding="utf-8")
    monkeypatch.chdir(repo / "manifests")  # a subfolder: the file is found in a parent
    assert main(["check", "--archive", str(repo / "archive")]) == 0  # the command line still wins
    assert server.hits("/skip/c.pdf") == 0 and server.hits("/keep/a.pdf") == 1
    assert server.requests("/keep/a.pdf")[0].headers["user-agent"] == "from-config/1"
    assert main(["check", "--archive", str(repo / "archive"), "--user-agent", "cli/2"]) == 0
    assert server.requests("/keep/a.pdf")[-1].headers["user-agent"] == "cli/2"
    capsys.readouterr()
    (repo / "linkwatch.toml").write_text("per-host = 0\n", encoding="utf-8")
    assert main(["check", "x.toml"]) == 2
    assert "(--per-host): must be at least 1" in capsys.readouterr().err  # checked as if typed
    (repo / "linkwatch.toml").write_text('colour = "blue"\n', encoding="utf-8")
    assert main(["status"]) == 2 and "colour: not an option" in capsys.readouterr().err


def test_config_in_pyproject_tool_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("LINKWATCH_CONFIG", raising=False)
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.linkwatch]\nformat = "bogus"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["status"]) == 2
    assert "pyproject.toml [tool.linkwatch]: format: 'bogus' is not one of" in capsys.readouterr().err


def test_bash_completion_completes_commands_options_and_choices(capsys: pytest.CaptureFixture[str]) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    assert main(["completion"]) == 0
    script = capsys.readouterr().out

    def complete(*words: str) -> list[str]:
        cmd = (f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in ('linkwatch', *words))}); "
               f"COMP_CWORD={len(words)}; _linkwatch; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        return subprocess.run([bash, "-c", cmd], capture_output=True, text=True, check=True).stdout.split()

    assert complete("ar") == ["archive"]
    assert complete("check", "--per") == ["--per-host"]
    assert complete("check", "--fail-on", "") == ["error", "warning", "never"]
    assert "--dry-run" in complete("check", "--d")


def test_typed_api_options_match_the_run_options_and_py_typed_ships() -> None:
    hints = typing.get_type_hints(RunOptions)
    assert set(hints) == {f.name for f in dataclasses.fields(Options)}
    assert (Path(linkwatch.__file__).parent / "py.typed").is_file()
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert 'linkwatch = ["py.typed"]' in pyproject
