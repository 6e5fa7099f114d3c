"""JUnit XML format: one test case per document, for CI test-report viewers.

Layout (the de-facto schema Jenkins, GitLab, Azure and the GitHub JUnit actions read)::

    <testsuites name="linkwatch" tests failures errors="0" skipped="0" time timestamp>
      <testsuite name=MANIFEST ...>             one per manifest, in report order
        <properties> tool version, command, run id </properties>
        <testcase name=ID classname=MANIFEST file=MANIFEST line=LINE time>
          <failure type=KIND message=FIRST-FINDING>every finding, one per line</failure>
          <system-out>url, final URL, HTTP, status, sha256, symbols, title, findings</system-out>

A test case fails when its document has an error finding, whatever `fail_on` (a JUnit report
says what is wrong; `--fail-on` decides the exit code), and also on a warning when `fail_on` is
"warning" (or "info"). A warning below that passes: it is listed in the case's system-out as
``warning KIND: message`` and counted in the suite's ``linkwatch.warnings`` property. A document
never checked (``unchecked``: a run interrupted before it) is ``<skipped>``. Stranger text is
stripped of escapes and of characters XML 1.0 forbids; ElementTree escapes the rest.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from ..model import UNCHECKED, DocumentResult, Finding, Report
from ._text import clean, clean_block


def render(report: Report, *, color: bool = False, width: int | None = None,
           fail_on: str = "error") -> str:
    """The JUnit XML document as a string with an XML declaration, ending with a newline."""
    root = ET.Element("testsuites", name="linkwatch")
    for manifest in _manifests(report):
        docs = [d for d in report.documents if d.manifest == manifest]
        root.append(_suite(report, manifest, docs, fail_on))
    suites = list(root)
    _counts(root, suites)
    root.set("time", _fmt_time(_duration(report) or sum(float(s.get("time", 0)) for s in suites)))
    root.set("timestamp", clean(report.started_at))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _manifests(report: Report) -> list[str]:
    """Manifests in report order, plus any a document names that the run list lacks."""
    names = list(dict.fromkeys(report.manifests))
    names += [m for m in dict.fromkeys(d.manifest for d in report.documents) if m not in names]
    return names


def _suite(report: Report, manifest: str, docs: list[DocumentResult], fail_on: str) -> ET.Element:
    """One <testsuite> for one manifest."""
    suite = ET.Element("testsuite", name=clean(manifest), timestamp=clean(report.started_at))
    props = ET.SubElement(suite, "properties")
    for name, value in (("linkwatch.version", report.tool_version),
                        ("linkwatch.command", report.command),
                        ("linkwatch.run_id", report.run_id)):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=clean(str(value)))
    warnings = sum(1 for d in docs for f in d.findings if f.severity == "warning")
    ET.SubElement(props, "property", name="linkwatch.warnings", value=str(warnings))
    cases = [_case(doc, fail_on) for doc in docs]
    suite.extend(cases)
    _counts(suite, cases)
    suite.set("time", _fmt_time(sum(float(c.get("time", 0)) for c in cases)))
    return suite


def _case(doc: DocumentResult, fail_on: str) -> ET.Element:
    """One <testcase> for one document."""
    manifest = clean(doc.manifest)
    case = ET.Element("testcase", name=clean(doc.id), classname=manifest, file=manifest,
                      line=str(doc.line), time=_fmt_time(doc.elapsed or 0.0))
    threshold = "error" if fail_on in ("never", "error") else fail_on
    failing = doc.findings_at_least(threshold)
    if doc.status == UNCHECKED:
        ET.SubElement(case, "skipped", message="never checked (the run stopped before this document)")
    elif failing:
        first = failing[0]
        failure = ET.SubElement(case, "failure", type=clean(first.kind),
                                message=clean(f"{first.kind}: {first.message}"))
        failure.text = "\n".join(_finding_line(f) for f in doc.findings)
    ET.SubElement(case, "system-out").text = _system_out(doc)
    return case


def _finding_line(f: Finding) -> str:
    """`error wrong-document: message` — one finding on one line."""
    return clean(f"{f.severity} {f.kind}: {f.message}")


def _system_out(doc: DocumentResult) -> str:
    """What was fetched and found, as `key: value` lines (absent facts left out)."""
    facts = [
        ("url", doc.url),
        ("final_url", doc.final_url if doc.final_url != doc.url else None),
        ("http_status", doc.http_status),
        ("status", doc.status),
        ("content_type", doc.content_type),
        ("sha256", doc.sha256),
        ("previous_sha256", doc.previous_sha256),
        ("expected_symbol", doc.expected_symbol),
        ("found_symbol", doc.found_symbol),
        ("expected_title", doc.expected_title),
        ("found_title", doc.title),
        ("checked_at", doc.checked_at),
        ("error", doc.error),
    ]
    lines = [f"{k}: {clean(str(v))}" for k, v in facts if v not in (None, "")]
    lines += [_finding_line(f) for f in doc.findings]
    return clean_block("\n".join(lines))


def _counts(element: ET.Element, children: list[ET.Element]) -> None:
    """Set tests/failures/errors/skipped on a suite from its test cases (or suites)."""
    if element.tag == "testsuite":
        tests = len(children)
        failures = sum(1 for c in children if c.find("failure") is not None)
        skipped = sum(1 for c in children if c.find("skipped") is not None)
    else:
        tests = sum(int(c.get("tests", 0)) for c in children)
        failures = sum(int(c.get("failures", 0)) for c in children)
        skipped = sum(int(c.get("skipped", 0)) for c in children)
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", "0")  # JUnit "errors" means the test itself crashed; ours never do
    element.set("skipped", str(skipped))


def _duration(report: Report) -> float | None:
    """Run duration in seconds from the ISO 8601 timestamps, None when they do not parse."""
    try:
        start = datetime.fromisoformat(report.started_at.replace("Z", "+00:00"))
        end = datetime.fromisoformat(report.finished_at.replace("Z", "+00:00"))
        return max(0.0, (end - start).total_seconds())
    except (ValueError, TypeError, AttributeError):
        return None


def _fmt_time(seconds: float) -> str:
    """Seconds with millisecond precision, as JUnit readers expect."""
    return f"{seconds:.3f}"
