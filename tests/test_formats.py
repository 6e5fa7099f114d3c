"""Output formats: every format renders the same hostile report safely and correctly.

Reports are built in code; nothing here touches the network or the archive.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkwatch.compare import SEVERITIES, STATUSES, Finding
from linkwatch.report.formats import FORMATS, render
from linkwatch.report.formats._text import clean, clean_block
from linkwatch.report.formats.github import escape_data, escape_property
from linkwatch.report.model import REPORT_STATUSES, SCHEMA_VERSION, DocumentResult, Report

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "report-schema.json").read_text("utf-8"))
MANIFEST = "manifests/cstd-wsis.toml"
SHA_OLD = "c" * 64
SHA_NEW = "d74acaa9db5f1104ee355b1c8760ac60898bd2780ad1ba289255d8d409645256"
HOSTILE_TITLE = "[bold]Pipes | and\nnewlines\r\n \x1b[31mRed\x1b[0m <script> & co \x00\x0c\x9b2J end"


def doc(id: str, line: int, status: str, findings: list[Finding] = (), **kw) -> DocumentResult:
    """A DocumentResult with sensible defaults; `severity` derived from the findings."""
    findings = list(findings)
    severity = max((f.severity for f in findings), key=SEVERITIES.index, default=None)
    base = dict(
        id=id, manifest=MANIFEST, line=line, kind="pdf", expected_symbols=["A/79/62", "E/2024/3"],
        expected_title="Progress made in the implementation of the WSIS outcomes",
        url=f"https://documents.un.org/doc/{id}.pdf", status=status, severity=severity,
        checked_at="2025-06-01T02:00:00Z",
    )
    base.update(kw)
    return DocumentResult(**base, findings=findings)


def make_report() -> Report:
    """One document per situation the formats must show, plus a hostile one."""
    docs = [
        doc("wsis-2024", 3, "ok", http_status=200, sha256=SHA_NEW, symbols=["A/79/62", "E/2024/3"],
            title="Progress made in the implementation of the WSIS outcomes", content_type="application/pdf",
            size=413666, pages=19, lang="en", elapsed=0.25),
        doc("res-73-8", 9, "broken", [Finding("broken", "error", "HTTP 404 Not Found")],
            expected_symbols=["A/RES/73/8"], expected_title="Necessity of ending the embargo",
            http_status=404),
        doc("a-78-1", 15, "wrong-document",
            [Finding("wrong-document", "error",
                     "the Official Document System placeholder: the document does not exist")],
            expected_symbols=["A/78/1"], expected_title="Report of the Secretary-General",
            http_status=200, sha256="c55c4e45623069cc1265176fdf005b958e69b939e558ae7f86c8ee1ff720fad6"),
        doc("td-b-43-6", 21, "ok", [Finding("moved", "warning", "now redirects (301) to https://unctad.org/x.pdf")],
            expected_symbols=["TD/B/43/6"], expected_title=None, http_status=200,
            final_url="https://unctad.org/x.pdf", symbols=["TD/B/43/6"], title="UNCTAD's contribution"),
        doc("a-80-62", 27, "ok", [Finding("content-changed", "warning", "sha256 changed"),
                                   Finding("reissued", "info", "reissued for technical reasons")],
            http_status=200, sha256=SHA_NEW, previous_sha256=SHA_OLD, symbols=["A/80/62*", "E/2025/12*"],
            title="Progress made in the implementation of the WSIS outcomes"),
        doc("hostile, id: 1", 33, "ok", [Finding("retitled", "warning", "title now\n" + HOSTILE_TITLE + " 100%")],
            http_status=200, symbols=["A/1"], title=HOSTILE_TITLE,
            final_url="https://evil.example/\x1b]8;;http://x\x07link\x1b]8;;\x07"),
        doc("blocked-one", 40, "blocked", [Finding("blocked", "warning", "bot challenge (HTTP 202)")],
            http_status=202, error="challenge"),
    ]
    return Report(run_id=7, command="check", started_at="2025-06-01T02:00:00Z",
                  finished_at="2025-06-01T02:01:30Z", tool_version="0.1.0",
                  manifests=[MANIFEST], documents=docs)


@pytest.fixture
def report() -> Report:
    return make_report()


ERROR_IDS = {"res-73-8", "a-78-1"}


# --- report.py -------------------------------------------------------------------------------


def test_counts_and_summary_line(report: Report) -> None:
    c = report.counts()
    assert c["documents"] == 7 and c["findings"] == 7
    assert c["by_status"]["ok"] == 4 and c["by_status"]["unreachable"] == 0
    assert set(STATUSES) <= set(c["by_status"])
    assert c["by_severity"] == {"info": 1, "warning": 4, "error": 2}
    assert report.summary_line() == (
        "7 documents: 4 ok, 1 broken, 1 blocked, 1 wrong-document · 2 errors, 4 warnings, 1 info"
    )


def test_summary_line_singular_and_empty(report: Report) -> None:
    one = replace(report, documents=[report.documents[1]])
    assert one.summary_line() == "1 document: 1 broken · 1 error"
    assert replace(report, documents=[]).summary_line() == "0 documents · no findings"


def test_display_helpers(report: Report) -> None:
    wsis, broken, *_ = report.documents
    assert wsis.expected_symbol == "A/79/62–E/2024/3"
    assert broken.symbol == "A/RES/73/8"  # nothing found: the cited one
    assert report.documents[4].symbol == "A/80/62*–E/2025/12*"  # found wins
    assert report.documents[4].drift == ["content-changed", "reissued"]
    assert broken.drift == []  # the status itself is not drift
    assert broken.display_title == "Necessity of ending the embargo"


@pytest.mark.parametrize(
    ("worst", "expected"),
    [
        (None, {"error": 0, "warning": 0, "info": 0, "never": 0}),
        ("info", {"error": 0, "warning": 0, "info": 1, "never": 0}),
        ("warning", {"error": 0, "warning": 1, "info": 1, "never": 0}),
        ("error", {"error": 1, "warning": 1, "info": 1, "never": 0}),
    ],
)
def test_exit_code(report: Report, worst: str | None, expected: dict[str, int]) -> None:
    findings = [Finding("moved", worst, "m")] if worst else []
    r = replace(report, documents=[doc("x", 1, "ok", findings)])
    assert r.worst_severity() == worst
    assert {level: r.exit_code(level) for level in expected} == expected


def test_exit_code_full_report_and_bad_level(report: Report) -> None:
    assert report.worst_severity() == "error"
    assert report.exit_code("error") == 1 and report.exit_code("never") == 0
    with pytest.raises(ValueError):
        report.exit_code("fatal")


# --- json --------------------------------------------------------------------------------------


def test_json_validates_and_round_trips(report: Report) -> None:
    text = render(report, "json")
    data = json.loads(text)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["schema"] == SCHEMA_VERSION
    assert data["summary"]["by_status"]["wrong-document"] == 1
    assert data["summary"]["worst_severity"] == "error"
    first = data["documents"][0]
    for key in ("id", "url", "status", "http_status", "final_url", "sha256", "symbols", "title", "findings"):
        assert key in first
    assert Report.from_dict(data) == report
    assert Report.from_dict(report.to_dict()) == report


def test_json_keeps_data_but_no_raw_controls(report: Report) -> None:
    text = render(report, "json")
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
    assert "\\u001b[31mRed" in text  # escaped, not lost: JSON is the lossless format
    assert "\\u009b" in text
    assert json.loads(text)["documents"][5]["title"] == HOSTILE_TITLE


def _json_reference(report: Report) -> str:
    """The JSON format as it was first written: one json.dumps of the whole report."""
    text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    return re.sub("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


@pytest.mark.parametrize("documents", [None, 0, 1])
def test_json_is_written_a_document_at_a_time_byte_for_byte_as_json_dumps(report: Report, documents) -> None:
    import io

    from linkwatch.report.formats import write

    if documents is not None:
        report = replace(report, documents=report.documents[:documents])
    stream = io.StringIO()
    write(report, "json", stream)
    assert stream.getvalue() == render(report, "json") == _json_reference(report)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(st.text(), inner)
    | st.dictionaries(st.integers(), inner, max_size=2),
    max_leaves=25)


@settings(max_examples=500, deadline=None)
@given(_JSON_VALUES)
def test_json_encoder_matches_json_dumps(value: object) -> None:
    from linkwatch.report.formats.json import encode

    assert encode(value) == json.dumps(value, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_writes_what_render_returns(report: Report, fmt: str) -> None:
    import io

    from linkwatch.report.formats import write

    stream = io.StringIO()
    write(report, fmt, stream, width=80)
    assert stream.getvalue() == render(report, fmt, width=80)


def test_schema_enums_match_code() -> None:
    assert SCHEMA["$defs"]["status"]["enum"] == list(REPORT_STATUSES)
    assert SCHEMA["$defs"]["severity"]["enum"] == list(SEVERITIES)
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_from_dict_rejects_newer_schema_and_ignores_unknown_keys(report: Report) -> None:
    data = report.to_dict()
    data["documents"][0]["from_the_future"] = True
    assert Report.from_dict(data) == report
    with pytest.raises(ValueError, match="schema"):
        Report.from_dict({**data, "schema": SCHEMA_VERSION + 1})
    with pytest.raises(ValueError, match="command"):
        Report.from_dict({k: v for k, v in data.items() if k != "command"})


# --- junit -------------------------------------------------------------------------------------


def test_junit_one_case_per_document_failures_for_errors(report: Report) -> None:
    root = ET.fromstring(render(report, "junit"))
    assert root.tag == "testsuites" and root.get("name") == "linkwatch"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [MANIFEST]
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == [d.id for d in report.documents]
    assert all(c.get("classname") == MANIFEST for c in cases)
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == ERROR_IDS
    suite = suites[0]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("7", "2", "0", "0")
    assert root.get("time") == "90.000"
    broken = next(c for c in cases if c.get("name") == "res-73-8")
    assert broken.find("failure").get("message") == "broken: HTTP 404 Not Found"
    out = next(c for c in cases if c.get("name") == "wsis-2024").find("system-out").text
    assert f"sha256: {SHA_NEW}" in out and "url: https://documents.un.org/doc/wsis-2024.pdf" in out


def test_junit_strips_xml_illegal_characters(report: Report) -> None:
    text = render(report, "junit")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", text)
    hostile = next(c for c in ET.fromstring(text).iter("testcase") if c.get("line") == "33")
    assert "Red" in hostile.find("system-out").text and "<script>" in hostile.find("system-out").text


@pytest.mark.parametrize(("fail_on", "expected"), [("warning", 6), ("info", 6), ("error", 2), ("never", 2)])
def test_junit_fail_on(report: Report, fail_on: str, expected: int) -> None:
    root = ET.fromstring(render(report, "junit", fail_on=fail_on))
    assert root.get("failures") == str(expected)


def test_junit_errors_fail_whatever_fail_on_and_warnings_are_listed(report: Report) -> None:
    """The CI recipes render JUnit with --fail-on never (the exit code is decided later): a run with
    errors must still show failed test cases, and a warning below --fail-on stays visible."""
    root = ET.fromstring(render(report, "junit", fail_on="never"))
    failed = {c.get("name") for c in root.iter("testcase") if c.find("failure") is not None}
    assert failed == ERROR_IDS
    blocked = next(c for c in root.iter("testcase") if c.get("name") == "blocked-one")
    assert blocked.find("failure") is None
    assert "warning blocked: bot challenge (HTTP 202)" in blocked.find("system-out").text
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["linkwatch.warnings"] == "4"


def test_junit_unchecked_documents_are_skipped(report: Report) -> None:
    never = replace(report.documents[0], id="never", status="unchecked", severity=None, findings=[])
    root = ET.fromstring(render(replace(report, documents=[*report.documents, never]), "junit"))
    case = next(c for c in root.iter("testcase") if c.get("name") == "never")
    assert case.find("skipped") is not None and case.find("failure") is None
    assert (root.get("tests"), root.get("skipped"), root.get("failures")) == ("8", "1", "2")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_junit_always_parses(title: str) -> None:
    r = make_report()
    r.documents[0].title = title
    r.documents[1].findings = [Finding("broken", "error", title)]
    ET.fromstring(render(r, "junit"))


# --- github ------------------------------------------------------------------------------------

_COMMAND = re.compile(r"^::(error|warning|notice) file=([^,:]*),line=(\d+),title=([^,:]*)::(.*)$")


def test_github_annotations_point_at_manifest_lines(report: Report) -> None:
    lines = render(report, "github").splitlines()
    commands = [_COMMAND.match(line) for line in lines if line.startswith("::")]
    assert all(commands), lines
    assert len(commands) == 7  # one per finding
    by_level = [m.group(1) for m in commands]
    assert by_level == ["error"] * 2 + ["warning"] * 4 + ["notice"]  # most severe first
    assert {(m.group(2), m.group(3)) for m in commands if m.group(1) == "error"} == {(MANIFEST, "9"), (MANIFEST, "15")}
    assert commands[0].group(4) == "linkwatch broken%3A res-73-8"
    assert lines[-1].startswith("linkwatch: 7 documents")


def test_github_escaping(report: Report) -> None:
    text = render(report, "github")
    assert "\x1b" not in text and "\r" not in text
    hostile = next(line for line in text.splitlines() if "line=33," in line)
    assert "title=linkwatch retitled%3A hostile%2C id%3A 1::" in hostile
    assert hostile.endswith("100%25 (https://documents.un.org/doc/hostile, id: 1.pdf)")
    assert escape_data("a%b\r\nc") == "a%25b%0D%0Ac"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


# --- markdown ----------------------------------------------------------------------------------


def _unescaped_pipes(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row))


def test_markdown_table_one_row_per_document(report: Report) -> None:
    text = render(report, "markdown")
    lines = text.splitlines()
    start = lines.index("| Status | Document | Symbol | Title | HTTP | Drift |")
    rows = [line for line in lines[start:] if line.startswith("| ")]
    assert len(rows) == 2 + len(report.documents)  # header, alignment row, documents
    assert all(_unescaped_pipes(row) == 7 for row in rows), rows
    hostile = next(row for row in rows if "hostile" in row)
    assert r"Pipes \| and newlines" in hostile
    assert "&lt;script&gt; &amp; co" in hostile and "<script>" not in text
    assert r"\[bold\]" in hostile
    assert "\x1b" not in text and "\x00" not in text
    assert "| ❌ broken | `res-73-8` | _A/RES/73/8_ |" in text


def test_markdown_lists_problems_first_and_counts_every_status(report: Report) -> None:
    text = render(report, "markdown")
    ids = re.findall(r"^\| \S+ [a-z-]+ \| `([^`]+)`", text, flags=re.M)
    assert ids[:2] == ["res-73-8", "a-78-1"]  # errors, in manifest order
    rank = {"error": 0, "warning": 1}
    assert ids == [d.id for d in sorted(report.documents, key=lambda d: rank.get(d.worst_severity(), 2))]
    assert ids[-1] == "wsis-2024"
    assert "| ✅ ok | ❌ broken | ⚠️ blocked | ❌ wrong-document |\n| --: | --: | --: | --: |\n| 4 | 1 | 1 | 1 |" in text


def test_quiet_markdown_lists_problems_and_counts_everything(report: Report) -> None:
    text = render(report, "markdown", problems_only=True)
    assert "wsis-2024" not in text and "res-73-8" in text
    assert "**7 documents: 4 ok, 1 broken, 1 blocked, 1 wrong-document" in text


def test_markdown_summary_of_10000_documents_fits_githubs_limit() -> None:
    """GitHub refuses a step summary over 1 MiB: problems come first, the rest is counted."""
    base = make_report().documents
    docs = []
    for i in range(10_000):
        d = replace(base[i % len(base)], id=f"doc-{i:05d}-" + "x" * 40, findings=list(base[i % len(base)].findings))
        if i % 10:  # nine in ten fine, one in ten with an error
            d.status, d.findings, d.severity = "ok", [], None
        docs.append(d)
    big = replace(make_report(), documents=docs)
    text = render(big, "markdown")
    size = len(text.encode("utf-8"))
    assert size <= 1_000_000, size
    counts = [n for n in big.counts()["by_status"].values() if n]
    assert "**10000 documents:" in text and "| " + " | ".join(f"{n:,}" for n in counts) + " |" in text
    listed = re.findall(r"^\| \S+ [a-z-]+ \| `(doc-\d+)", text, flags=re.M)
    errors = [d.id.rsplit("-", 1)[0] for d in docs if d.findings_at_least("error")]
    assert listed[:len(errors)] == errors  # every error document, before any fine one
    note = re.search(r"\*\*([\d,]+) more documents not listed here\*\* \(([^)]*)\)", text)
    assert note and int(note.group(1).replace(",", "")) == 10_000 - len(listed)
    from linkwatch.report.formats import markdown

    assert markdown.render(big, limit=None).count("\n| ") > 10_000  # unlimited: all of them


def test_markdown_findings_section(report: Report) -> None:
    text = render(report, "markdown")
    heading, findings = text.split("### Findings", 1)
    assert heading.startswith("## 🔴 linkwatch check")
    assert "**7 documents: 4 ok" in heading
    assert "[A/RES/73/8](https://documents.un.org/doc/res-73-8.pdf)" in findings
    assert "reissued" not in findings  # info findings stay in the table only
    assert "wsis-2024" not in findings


# --- table -------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 100, 160])
def test_table_fits_and_is_plain(report: Report, width: int) -> None:
    text = render(report, "table", width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "\x1b" not in text
    # The summary is one line: in full when it fits, else the statuses other than ok summed up.
    # Between them, after a blank line, one "id: kind: message" line per error/warning finding.
    table = lines[: 2 + len(report.documents)]
    last_blank = max(i for i, line in enumerate(lines) if not line.strip())
    problems, summary = " ".join(lines[2 + len(report.documents):last_blank]), lines[last_blank + 1:]
    assert len(summary) == 1
    full = report.summary_line()
    assert summary[0] == (full if len(full) <= width else
                          "7 documents: 4 ok, 3 not ok · " + full.rsplit(" · ", 1)[1])
    for d in report.documents:
        for f in d.findings:
            if f.severity in ("error", "warning"):
                assert f"{f.kind}:" in problems
    body = "\n".join(table[2:])
    for d in report.documents:
        assert d.status in body  # the status column never collapses
    assert "[bold]Pipes | and" in text  # markup shown literally, not interpreted
    if width >= 100:
        assert "[bold]Pipes | and newlines Red" in text  # newlines and escapes flattened


def test_table_colour_keeps_hostile_escapes_out(report: Report) -> None:
    text = render(report, "table", width=200, color=True)
    assert "\x1b[" in text  # it is coloured...
    assert "\x1b[31mRed" not in text and "\x9b" not in text  # ...but not by the title
    assert "\x07" not in text and "\x00" not in text
    assert "Red" in text


def test_table_empty_report(report: Report) -> None:
    text = render(replace(report, documents=[]), "table", width=80)
    assert text.splitlines() == ["No documents.", "0 documents · no findings"]


# --- dispatch and sanitising -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_and_ends_with_newline(report: Report, fmt: str) -> None:
    assert render(report, fmt, width=80).endswith("\n")


def test_unknown_format(report: Report) -> None:
    with pytest.raises(ValueError, match="yaml"):
        render(report, "yaml")


def test_clean_removes_escapes_controls_and_bidi() -> None:
    assert clean("a\x1b]8;;https://evil\x07click\x1b]8;;\x07b") == "aclickb"
    assert clean("x\x9b31my\u202etxt.exe\u2066") == "xytxt.exe"
    assert clean("  two\n lines\t") == "two lines"
    assert clean(None) == ""
    assert clean_block("a\r\nb\x1b[2Kc") == "a\nbc"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_clean_leaves_no_control_characters(text: str) -> None:
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", clean(text))
