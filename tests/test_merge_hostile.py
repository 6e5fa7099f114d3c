"""A report merged from elsewhere is checked before it is used (issue 12, item 15): a value of
the wrong type is exit 2 naming the field, never a traceback, and never reaches a format."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from linkwatch.cli import main
from linkwatch.report.formats import FORMATS

GOOD = {
    "schema": 1, "tool": "linkwatch", "tool_version": "1", "run_id": 1, "command": "check",
    "started_at": "2025-01-01T00:00:00Z", "finished_at": "2025-01-01T00:00:01Z", "manifests": ["m.toml"],
    "documents": [{"id": "a", "manifest": "m.toml", "line": 3, "kind": "pdf", "expected_symbols": ["A/1"],
                   "expected_title": None, "url": "https://a.org/x.pdf", "status": "broken", "severity": "error",
                   "http_status": 404, "findings": [{"kind": "broken", "severity": "error", "message": "HTTP 404"}],
                   "timeline": [{"at": "2025-01-01T00:00:00Z", "status": "broken"}]}],
}
ATTACKS = [
    ("documents.0.line", "<script>alert(1)</script>", "documents[0].line: must be int, not str"),
    ("documents.0.line", 3.5, "documents[0].line: must be int"),
    ("documents.0.findings", "x", "documents[0].findings: must be list"),
    ("documents.0.findings.0", "x", "documents[0].findings[0]: must be an object"),
    ("documents.0.findings.0.severity", 5, "documents[0].findings[0].severity: must be str, not int"),
    ("documents.0.findings.0.severity", "fatal", "severity"),
    ("documents.0.symbols", 5, "documents[0].symbols: must be list of str, not int"),
    ("documents.0.expected_symbols", [1], "expected_symbols: must be list of str, not list"),
    ("documents.0.id", 3, "documents[0].id: must be str, not int"),
    ("documents.0.http_status", "404", "http_status: must be int or null"),
    ("documents.0.timeline", [1], "timeline: must be list of dict"),
    ("documents.0", [], "documents[0]: must be an object"),
    ("documents", {}, "documents: must be list, not dict"),
    ("manifests", "m.toml", "manifests: must be list of str, not str"),
    ("started_at", 3, "started_at: must be str, not int"),
    ("run_id", "1", "run_id: must be int or null, not str"),
]


def _set(data: dict, path: str, value: object) -> dict:
    data = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    node[int(last) if isinstance(node, list) else last] = value
    return data


@pytest.mark.parametrize("path, value, words", ATTACKS)
def test_a_type_confused_report_is_refused_naming_the_field(tmp_path: Path, path: str, value: object, words: str,
                                                            capsys) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(GOOD))
    bad.write_text(json.dumps(_set(GOOD, path, value)))
    for fmt in FORMATS:
        assert main(["merge", str(good), str(bad), "--format", fmt]) == 2
        captured = capsys.readouterr()
        assert words in captured.err and "Traceback" not in captured.err, captured.err
        assert captured.out == "" and "<script>" not in captured.err


def test_a_good_report_still_merges(tmp_path: Path, capsys) -> None:
    (tmp_path / "r.json").write_text(json.dumps(GOOD))
    assert main(["merge", str(tmp_path / "r.json"), "--format", "markdown"]) == 1  # an error finding
    assert "`m.toml` line 3" in capsys.readouterr().out
