"""Fitting scheduled CI and terminals: the transient rule, --shard, merge, lint, --quiet, progress, history,
and the example workflows in docs/ci.md and examples/ (every linkwatch command in them parses)."""
from __future__ import annotations

import io
import json
import re
import shlex
import sys
from pathlib import Path

import pytest
from httpserver import Content, LocalServer, Reset, Status

import linkwatch
from linkwatch.cli import build_parser, main
from linkwatch.manifest import Document
from linkwatch.report.merge import merge
from linkwatch.plan import failure_streak
from linkwatch.report import SCHEMA_VERSION, Report
from linkwatch.shard import parse as parse_shard
from linkwatch.shard import select, shard_of

ROOT = Path(__file__).resolve().parent.parent
PDFS = ROOT / "tests" / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.01, timeout=5.0, retries=0, progress=False)
CLI_FAST = ["--min-interval", "0", "--timeout", "5", "--retries", "0", "--no-progress"]


def write_manifest(path: Path, docs: list[tuple[str, str]]) -> Path:
    """A manifest of (id, url) documents; document i's header is on line 1 + 4*i."""
    path.write_text("".join(f'[[document]]\nid = "{i}"\nurl = "{u}"\n\n' for i, u in docs), encoding="utf-8")
    return path


# -- the transient rule --------------------------------------------------------------------------------
def _run(path: Path, tmp_path: Path, **kw: object) -> tuple[str, list[tuple[str, str]]]:
    doc = linkwatch.check(path, archive=tmp_path / "a", **{**FAST, **kw}).documents[0]
    return doc.status, [(f.kind, f.severity) for f in doc.findings]


@pytest.mark.parametrize("failure", [Status(503), Reset(b"%PDF-1.4" + b"x" * 5000, 100)], ids=["503", "reset"])
def test_one_transient_failure_after_ok_is_a_warning_the_second_an_error(server: LocalServer, tmp_path: Path,
                                                                          failure: object) -> None:
    pdf = Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf")
    path = write_manifest(tmp_path / "m.toml", [("res", server.route("/res.pdf", pdf))])
    assert _run(path, tmp_path) == ("ok", [])
    server.route("/res.pdf", failure)
    status, findings = _run(path, tmp_path)
    assert status in ("broken", "unreachable") and findings == [(status, "warning"), ("gone", "warning")]
    doc = linkwatch.status(archive=tmp_path / "a").documents[0]
    assert "failure 1 in a row after ok" in doc.findings[0].message and doc.severity == "warning"
    assert _run(path, tmp_path) == (status, [(status, "error")])  # the second in a row counts
    server.route("/res.pdf", pdf)
    assert _run(path, tmp_path) == ("ok", [("recovered", "info")])


def test_transient_count_is_configurable_and_definitive_failures_are_errors_at_once(server: LocalServer,
                                                                                   tmp_path: Path) -> None:
    pdf = Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf")
    path = write_manifest(tmp_path / "m.toml", [("res", server.route("/res.pdf", pdf))])
    _run(path, tmp_path)
    server.route("/res.pdf", Status(503))
    assert _run(path, tmp_path, transient=1)[1] == [("broken", "error"), ("gone", "error")]
    assert _run(path, tmp_path, transient=3)[1] == [("broken", "warning")]  # 2nd in a row, 3 allowed
    server.route("/res.pdf", Status(404))  # definitive: no grace, whatever the history
    assert _run(path, tmp_path, transient=5)[1] == [("broken", "error")]


def test_a_failure_with_no_ok_before_it_is_an_error(server: LocalServer, tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "m.toml", [("x", server.route("/x.pdf", Status(503)))])
    assert _run(path, tmp_path) == ("broken", [("broken", "error")])


def test_failure_streak_counts_transient_failures_back_to_an_ok() -> None:
    assert failure_streak([("ok", 200)]) == 0
    assert failure_streak([("unreachable", None), ("broken", 502), ("ok", 200)]) == 2
    assert failure_streak([("broken", 404), ("ok", 200)]) is None  # a definitive failure interrupts
    assert failure_streak([("unreachable", None)]) is None  # no ok within reach
    assert failure_streak([]) is None


# -- --shard K/N ---------------------------------------------------------------------------------------
def test_shards_by_document_partition_deterministically_whatever_the_order() -> None:
    docs = [Document(id=f"doc-{i}", url=f"https://x.org/{i}.pdf") for i in range(200)]
    shards = [select(docs, k, 4, by="document") for k in range(1, 5)]
    assert sorted(d.id for s in shards for d in s) == sorted(d.id for d in docs)  # each exactly once
    assert all(25 <= len(s) <= 75 for s in shards)  # and roughly even
    reordered = list(reversed(docs[:150])) + [Document(id="new", url="https://x.org/n.pdf")]
    for k in range(1, 5):  # reordering, removing and adding documents moves nobody else
        assert {d.id for d in select(reordered, k, 4, by="document")} - {"new"} == {d.id for d in shards[k - 1]} & \
            {d.id for d in reordered}
    assert shard_of("a-79-62", 3) == shard_of("a-79-62", 3) and [d.id for d in shards[0]] == \
        [d.id for d in docs if d in shards[0]]  # manifest order kept


@pytest.mark.parametrize("spec", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"])
def test_bad_shard_specs_are_usage_errors(spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError):
        parse_shard(spec)
    with pytest.raises(SystemExit) as done:
        main(["check", str(tmp_path / "m.toml"), "--shard", spec])
    assert done.value.code == 2 and "--shard" in capsys.readouterr().err


def test_shard_runs_and_merge_equal_the_whole_run(server: LocalServer, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    pdf = Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf")
    docs = [(f"d{i}", server.route(f"/d{i}.pdf", pdf)) for i in range(6)] + [("gone", server.url("/gone.pdf"))]
    path = write_manifest(tmp_path / "m.toml", docs)
    outs = []
    for k in (1, 2, 3):
        out = tmp_path / f"shard{k}.json"
        main(["check", str(path), "--shard", f"{k}/3", "--shard-by", "document", "--archive", str(tmp_path / f"a{k}"), "--format", "json",
              "--output", str(out), "--fail-on", "never", *CLI_FAST])
        outs.append(str(out))
    sizes = [len(json.loads(Path(o).read_text())["documents"]) for o in outs]
    assert sum(sizes) == 7 and all(sizes)  # hash of the id: these seven ids land in every shard
    assert main(["merge", *outs, "--format", "json", "--output", str(tmp_path / "all.json")]) == 1
    merged = json.loads((tmp_path / "all.json").read_text())
    assert [d["id"] for d in merged["documents"]] == [i for i, _ in docs]  # manifest order restored
    assert merged["summary"]["by_status"]["ok"] == 6 and merged["summary"]["by_status"]["broken"] == 1
    assert main(["merge", *outs, "--format", "github", "--fail-on", "never"]) == 0
    annotations = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(annotations) == 1 and "line=25" in annotations[0]  # the 7th document's header line


def test_merge_keeps_the_newest_observation_of_a_document(tmp_path: Path) -> None:
    from linkwatch.report import DocumentResult

    def rep(checked: str, status: str) -> Report:
        d = DocumentResult(id="x", manifest="m.toml", line=1, kind="pdf", expected_symbols=[], expected_title=None,
                           url="https://x.org/x.pdf", status=status, severity=None, checked_at=checked)
        return Report(run_id=1, command="check", started_at=checked, finished_at=checked, tool_version="0.1.0",
                      manifests=["m.toml"], documents=[d])

    both = merge([rep("2025-06-02T00:00:00Z", "ok"), rep("2025-06-01T00:00:00Z", "broken")])
    assert [d.status for d in both.documents] == ["ok"] and both.started_at == "2025-06-01T00:00:00Z"


def test_merge_refuses_newer_schema_and_non_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"schema": SCHEMA_VERSION + 1, "documents": []}))
    assert main(["merge", str(newer)]) == 2
    assert "newer than this linkwatch" in capsys.readouterr().err
    junk = tmp_path / "junk.json"
    junk.write_text("<testsuites/>")
    assert main(["merge", str(junk)]) == 2
    assert "--format json" in capsys.readouterr().err
    assert main(["merge", str(tmp_path / "missing.json")]) == 2


# -- lint ----------------------------------------------------------------------------------------------
def test_lint_reports_every_documents_problem_with_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[defaults]\nlang = "en"\n\n'
                   '[[document]]\nurl = "https://x.org/a.pdf"\nsymbl = "A/1"\n\n'  # line 6: typo
                   '[[document]]\nid = "ok-one"\nurl = "https://x.org/b.pdf"\n\n'
                   '[[document]]\nid = "c"\nurl = "ftp://x.org/c.pdf"\n\n'  # line 14: not http(s)
                   '[[document]]\nid = "d"\nurl = "https://x.org/d.pdf"\nlang = "english"\n')  # line 19
    good = write_manifest(tmp_path / "good.toml", [("g", "https://x.org/g.pdf")])
    assert main(["lint", str(bad), str(good)]) == 2
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert [line.split(": ")[0] for line in lines] == [f"{bad}:6", f"{bad}:14", f"{bad}:19"]
    assert "document.symbl: unknown key (did you mean 'symbol'?)" in lines[0]
    assert "3 problems in 1 of 2 manifests" in out.err
    assert main(["lint", str(good)]) == 0 and "1 manifest OK" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "line", "field", "words"), [
    ('[manifest]\ntitle = "t"\n\n[[documents]]\nurl = "https://x.org/a.pdf"\n', 4, "documents",
     "did you mean [[document]]?"),
    ('[manifest]\ntitle = "t"\n\n[document]\nurl = "https://x.org/a.pdf"\n', 4, "document", "write [[document]]"),
    ('[manifest]\ntitle = "nothing cited yet"\n', 1, "document", "no documents"),
    ("", 1, "document", "no documents"),
], ids=["documents-typo", "single-brackets", "no-documents", "empty-file"])
def test_manifest_shape_mistakes_are_located_on_their_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           text: str, line: int, field: str, words: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text)
    assert main(["lint", str(path), "--format", "github"]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"::error file={path},line={line},title=linkwatch lint%3A {field}::"), out
    assert words in out
    assert main(["check", str(path), "--archive", str(tmp_path / "a")]) == 2  # check refuses it too
    assert f"m.toml:{line}: {field}:" in capsys.readouterr().err


def test_lint_missing_file_is_located_on_line_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(tmp_path / "nope.toml"), "--format", "github"]) == 2
    assert capsys.readouterr().out.startswith(f"::error file={tmp_path / 'nope.toml'},line=1,")


def test_lint_defaults_mistake_hides_no_document_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[defaults]\nlang = "english"\n\n'                       # line 2
                    '[[document]]\nid = "a"\nurl = "ftp://x.org/a.pdf"\n\n'  # line 6
                    '[[document]]\nid = "b"\nurl = "https://x.org/b.pdf"\nkind = "book"\n')  # line 11
    assert main(["lint", str(path)]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[0] for line in lines] == [f"{path}:2", f"{path}:6", f"{path}:11"]


def test_lint_reports_every_duplicate_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = [("same", f"https://x.org/{i}.pdf") for i in range(13)]
    path = write_manifest(tmp_path / "m.toml", docs)
    assert main(["lint", str(path)]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{path}:{1 + 4 * i}: id: duplicate id 'same' (first at line 1)" for i in range(1, 13)]
    assert main(["check", str(path), "--archive", str(tmp_path / "a")]) == 2
    assert "11 more duplicate(s), 'linkwatch lint' lists them" in capsys.readouterr().err


def test_lint_warns_about_unset_secrets_and_check_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """pre-commit on a laptop and a PR from a fork have no secrets: lint warns (exit 0), check refuses."""
    monkeypatch.delenv("LINKWATCH_TEST_TOKEN", raising=False)
    path = tmp_path / "m.toml"
    path.write_text('[hosts."documents.un.org"]\nheaders = { Authorization = "env:LINKWATCH_TEST_TOKEN" }\n\n'
                    '[[document]]\nurl = "https://documents.un.org/a.pdf"\n')
    assert main(["lint", str(path), "--format", "github"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith(f"::warning file={path},line=2,title=linkwatch lint%3A hosts.documents.un.org")
    assert "LINKWATCH_TEST_TOKEN" in out.out and "OK (and 1 warning)" in out.err
    assert main(["check", str(path), "--archive", str(tmp_path / "a")]) == 2
    assert "'LINKWATCH_TEST_TOKEN' is not set" in capsys.readouterr().err


def test_lint_syntax_error_duplicates_across_files_and_github_format(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[[document]\nurl = "x"\n')
    assert main(["lint", str(broken)]) == 2
    assert capsys.readouterr().out.startswith(f"{broken}:1: syntax:")
    one = write_manifest(tmp_path / "one.toml", [("same", "https://x.org/1.pdf")])
    two = write_manifest(tmp_path / "two.toml", [("other", "https://x.org/2.pdf"), ("same", "https://x.org/3.pdf")])
    assert main(["lint", str(one), str(two), "--format", "github"]) == 2
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"::error file={two},line=5,title=linkwatch lint%3A id::duplicate id 'same'")


def test_lint_never_touches_the_network_or_an_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kw: object) -> None:
        raise AssertionError("lint opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.chdir(tmp_path)
    good = write_manifest(tmp_path / "m.toml", [("a", "https://documents.un.org/a.pdf")])
    assert main(["lint", str(good)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.toml"]


def test_pre_commit_hook_runs_lint() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert re.search(r"^\s*entry:\s*linkwatch lint\s*$", text, re.M) and "language: python" in text
    assert re.search(r"^-\s*id:\s*linkwatch-lint\s*$", text, re.M)


# -- terminal experience ----------------------------------------------------------------------------------
def test_quiet_prints_only_problems(server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf = Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf")
    path = write_manifest(tmp_path / "m.toml", [("fine", server.route("/f.pdf", pdf)), ("gone", server.url("/g.pdf"))])
    assert main(["check", str(path), "--archive", str(tmp_path / "a"), "--quiet", *CLI_FAST]) == 1
    out = capsys.readouterr()
    assert "gone" in out.out and "fine" not in out.out and out.err == ""
    assert out.out.splitlines()[-1] == "2 documents: 1 ok, 1 broken · 1 error"  # counts what it does not list
    assert main(["status", str(path), "--archive", str(tmp_path / "a"), "--quiet", "--format", "markdown"]) == 1
    text = capsys.readouterr().out
    assert "`gone`" in text and "`fine`" not in text and "**2 documents: 1 ok, 1 broken" in text
    good = write_manifest(tmp_path / "g.toml", [("fine", server.url("/f.pdf"))])
    assert main(["check", str(good), "--archive", str(tmp_path / "a"), "--quiet", *CLI_FAST]) == 0
    assert capsys.readouterr() == ("", "")  # nothing wrong, nothing said


def test_table_fits_80_columns_and_ends_with_a_summary(server: LocalServer, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    pdf = Content.file(PDFS / "A_80_62.en.pdf", "application/pdf")
    path = write_manifest(tmp_path / "m.toml", [("a-80-62-with-a-rather-long-id", server.route("/a.pdf", pdf)),
                                                ("gone", server.url("/g.pdf"))])
    assert main(["check", str(path), "--archive", str(tmp_path / "a"), *CLI_FAST]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[-1] == "2 documents: 1 ok, 1 broken · 1 error"


def test_progress_counts_documents_bytes_and_busy_hosts() -> None:
    from linkwatch.observation import Observation
    from linkwatch.plan import Task
    from linkwatch.progress import Progress as _Progress

    progress = _Progress(enabled=False, total=3)
    seen: list[tuple[str, str]] = []

    def observe(task: Task) -> str:
        seen.append(progress.describe())
        return "done"

    watched = progress.watch(observe)  # type: ignore[arg-type]
    assert watched(Task(Document(id="a", url="https://documents.un.org/a.pdf"))) == "done"
    assert seen == [("", "documents.un.org")] and progress.hosts == {}
    progress("a", Observation(document_id="a", url="u", observed_at="t", size=1536))
    progress("b", Observation(document_id="b", url="u", observed_at="t", size=10**9, not_modified=True))
    assert progress.done == 2 and progress.describe() == ("1.5 KB", "")


def test_progress_host_counts_match_per_host() -> None:
    """8 documents of one host in flight with --per-host 2: 2 requests at a time, 6 waiting."""
    from linkwatch.progress import Progress as _Progress

    progress = _Progress(enabled=False, total=10, per_host=2)
    progress.hosts.update({"unctad.org": 8, "undocs.org": 1})
    assert progress.describe() == ("", "unctad.org ×2 +6 waiting, undocs.org")


def test_progress_is_off_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from linkwatch.progress import Progress as _Progress

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with _Progress(enabled=True, total=5) as progress:
        progress("a")
    assert not progress.enabled and sys.stderr.getvalue() == ""


def test_progress_draws_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from linkwatch.observation import Observation
    from linkwatch.progress import Progress as _Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv("TERM", "xterm")
    with _Progress(enabled=True, total=2) as progress:
        progress._hosts("documents.un.org", +1)
        progress("a", Observation(document_id="a", url="u", observed_at="t", size=2 * 1024**2))
        progress.bar.refresh()
    drawn = err.getvalue()
    assert "checking" in drawn and "1/2" in drawn and "2.0 MB" in drawn and "documents.un.org" in drawn


def test_history_reads_like_a_catalogue(server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_manifest(tmp_path / "m.toml", [("res", server.route(
        "/res.pdf", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf")))])
    args = ["--archive", str(tmp_path / "a"), *CLI_FAST]
    main(["archive", str(path), *args])
    main(["archive", str(path), *args])  # 304: unchanged
    server.route("/res.pdf", Content.file(PDFS / "A_RES_73_8-EN.pdf", "application/pdf"))
    main(["archive", str(path), *args])
    server.route("/res.pdf", Status(404))
    main(["archive", str(path), *args, "--transient", "1"])
    capsys.readouterr()
    assert main(["history", "res", "--archive", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"4 observations from \d{4}-\d\d-\d\d \d\d:\d\d to .* UTC · 2 versions kept · now broken", out)
    rows = [line for line in out.splitlines() if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d ", line)]
    assert len(rows) == 4
    assert "first seen: A/RES/78/323" in rows[0] and "253.8 KB" in rows[0]
    assert "unchanged (304 Not Modified)" in rows[1]
    assert "content-changed: new version" in rows[2] and re.search(r"253\.8 KB\s+→ 315\.4 KB", out)
    assert "ok → broken" in rows[3]


def test_status_says_when_the_documents_were_checked(server: LocalServer, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = write_manifest(tmp_path / "m.toml", [("gone", server.url("/g.pdf"))])
    main(["check", str(path), "--archive", str(tmp_path / "a"), *CLI_FAST])
    capsys.readouterr()
    assert main(["status", "--archive", str(tmp_path / "a")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"checked \d{4}-\d\d-\d\d \d\d:\d\d UTC", lines[-2])
    assert lines[-1] == "1 document: 1 broken · 1 error"


def test_status_lists_and_counts_documents_never_checked(server: LocalServer, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A run stopped at 1 of 3 documents: status still lists the other 2, as unchecked, in every format."""
    pdf = Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf")
    docs = [("fine", server.route("/f.pdf", pdf)), ("later-1", server.url("/1.pdf")), ("later-2", server.url("/2.pdf"))]
    write_manifest(tmp_path / "first.toml", docs[:1])
    path = write_manifest(tmp_path / "m.toml", docs)
    assert main(["check", str(tmp_path / "first.toml"), "--archive", str(tmp_path / "a"), *CLI_FAST]) == 0
    capsys.readouterr()
    assert main(["status", str(path), "--archive", str(tmp_path / "a")]) == 0  # unchecked is no finding
    out = capsys.readouterr().out
    assert re.search(r"^unchecked\s+later-1", out, re.M) and re.search(r"^unchecked\s+later-2", out, re.M)
    assert out.splitlines()[-1] == "3 documents: 1 ok, 2 unchecked · no findings"
    report = linkwatch.status(str(path), archive=tmp_path / "a")
    assert report.counts()["by_status"]["unchecked"] == 2
    shown = {}
    for fmt in ("json", "markdown", "html", "junit", "github"):
        main(["status", str(path), "--archive", str(tmp_path / "a"), "--format", fmt])
        shown[fmt] = capsys.readouterr().out
    assert json.loads(shown["json"])["summary"]["by_status"]["unchecked"] == 2
    assert 'skipped="2"' in shown["junit"] and 'tests="3"' in shown["junit"]
    for fmt in ("markdown", "html", "github"):
        assert "3 documents: 1 ok, 2 unchecked" in shown[fmt], fmt


def test_output_to_a_fifo_or_device_writes_into_it_instead_of_replacing_it(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert main(["merge", str(ROOT / "examples" / "status-report.json"), "--format", "json",
                 "--fail-on", "never", "--output", str(fifo)]) == 0
    reader.join(10)
    assert json.loads(got[0])["schema"] >= 1 and fifo.is_fifo()  # still a FIFO, not a file in its place


def test_errors_say_what_to_do_next(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "nope", "--archive", str(tmp_path / "a")]) == 2
    assert "run 'linkwatch check' first" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.toml"), "--archive", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "missing.toml:1: file: no such file" in err and "check the path" in err
    bad = tmp_path / "bad.toml"
    bad.write_text('[[document]]\nurl = "https://x.org/a.pdf"\nsymbl = "A/1"\n')
    assert main(["check", str(bad), "--archive", str(tmp_path / "a")]) == 2
    assert "'linkwatch lint MANIFEST...' lists every problem" in capsys.readouterr().err


# -- the example workflows -------------------------------------------------------------------------------
def _commands(text: str) -> list[list[str]]:
    """Every `linkwatch …` command line in a workflow or shell snippet (continuations joined).

    CI placeholders become plausible values: `${{ … }}`/`$VAR` naming a fail-on level → "error",
    any other → "1" (so `--shard ${{ matrix.shard }}/4` reads `--shard 1/4`).
    """
    text = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in text.splitlines():
        line = re.sub(r"\s#\s.*$", "", line)  # YAML/shell end-of-line comments
        m = re.search(r"(?:^|[\s;&|(])linkwatch\s+([a-z][\w-]*)(.*)$", line)
        if not m or line.strip().startswith(("#", "entry:", "name:")):  # hook entry/name: no command line
            continue
        rest = re.split(r"\s(?:>>?|\|\||&&|\|)\s", m.group(2))[0]
        placeholder = lambda v: "error" if "fail" in v.group(0).lower() else "1"  # noqa: E731
        rest = re.sub(r"\$\{\{[^}]*\}\}|\$\{?\w+\}?", placeholder, rest)
        found.append([m.group(1), *shlex.split(rest, comments=True)])
    return found


@pytest.mark.parametrize("name", ["docs/ci.md", "docs/scale.md", "examples/gitlab-ci.yml"])
def test_every_linkwatch_command_in_the_ci_examples_parses(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    if name.endswith(".md"):  # prose mentions commands too: only the code blocks are commands
        text = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", text, re.S))
    commands = _commands(text)
    assert commands, f"no linkwatch command found in {name}"
    parser = build_parser()
    for argv in commands:
        try:
            parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{name}: 'linkwatch {' '.join(argv)}' does not parse")


def test_example_report_is_a_valid_report(tmp_path: Path) -> None:
    import jsonschema

    data = json.loads((ROOT / "examples" / "status-report.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads((ROOT / "docs" / "report-schema.json").read_text(encoding="utf-8")))
    assert main(["merge", str(ROOT / "examples" / "status-report.json"), "--format", "json", "--fail-on", "never",
                 "--output", str(tmp_path / "r.json")]) == 0


def test_github_example_does_what_the_issue_asks() -> None:
    text = (ROOT / "examples" / "github-workflow.yml").read_text(encoding="utf-8")
    action = (ROOT / "action.yml").read_text(encoding="utf-8")
    assert "schedule:" in text and "cron:" in text and "workflow_dispatch:" in text
    assert "uses: ./.github/linkwatch" in text and "submodules: true" in text
    assert "actions/cache/restore@" in action and "actions/cache/save@" in action and "if: always()" in action
    script = (ROOT / "action" / "run.sh").read_text(encoding="utf-8")
    assert "GITHUB_STEP_SUMMARY" in script and "--format github" in script and "--format junit" in script
    assert "actions/upload-artifact@" in text and "fail-on:" in text and "gh issue create" in text
    assert text in (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")  # the docs show the same file
