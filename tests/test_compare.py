"""The judgement: status now, drift since the last observation, severities."""
from __future__ import annotations

from linkwatch.compare import judge, status_of, titles_match, worst
from linkwatch.http.client import Hop
from linkwatch.pdf.inspect import Inspection
from linkwatch.manifest import Document
from linkwatch.observation import Observation, sniff

DOC = Document(id="a-79-62", url="https://x.org/a79d62_en.pdf", symbols=("A/79/62", "E/2024/3"),
               title="Progress made in the implementation of and follow-up to the outcomes of the WSIS", lang="en")
GOOD_INSPECTION = Inspection(pages=19, symbols=["A/79/62", "E/2024/3"], lang="en",
                             title="Progress made in the implementation of and follow-up to the outcomes of the WSIS")


def obs(**kw: object) -> Observation:
    base: dict[str, object] = dict(document_id="a-79-62", url=DOC.url, observed_at="2026-01-01T00:00:00Z",
                                   final_url=DOC.url, http_status=200, size=1000, sha256="a" * 64,
                                   sniffed="pdf", inspection=GOOD_INSPECTION, status=None)
    base.update(kw)
    return Observation(**base)  # type: ignore[arg-type]


def kinds(findings: list) -> list[str]:
    return [f.kind for f in findings]


def test_matching_pdf_is_ok_with_no_findings() -> None:
    assert judge(DOC, obs(), None) == ("ok", [])


def test_any_part_of_a_joint_symbol_matches_across_dash_case_and_asterisk() -> None:
    found = Inspection(symbols=["a/79/62*", "E/2024/3*"], lang="en")
    assert judge(DOC, obs(inspection=found), None)[0] == "ok"


def test_http_failures() -> None:
    assert judge(DOC, obs(http_status=404, sniffed=None, inspection=None), None)[0] == "broken"
    assert judge(DOC, obs(http_status=None, error="timed out", error_kind="timeout"), None)[0] == "unreachable"
    assert judge(DOC, obs(http_status=429), None)[0] == "blocked"
    assert judge(DOC, obs(http_status=202, error_kind="challenge",
                          response_headers={"x-amzn-waf-action": "challenge"}), None)[0] == "blocked"
    assert judge(DOC, obs(http_status=200, error_kind="redirect-loop", error="loop"), None)[0] == "broken"


def test_wrong_type_and_wrong_document() -> None:
    assert judge(DOC, obs(sniffed="html", inspection=None), None)[0] == "wrong-type"
    assert judge(DOC, obs(sniffed="empty", size=0, inspection=None), None)[0] == "wrong-type"
    placeholder = Inspection(pages=1, placeholder=True, lang="en")
    status, findings = judge(DOC, obs(inspection=placeholder), None)
    assert status == "wrong-document" and "placeholder" in findings[0].message and findings[0].severity == "error"
    spanish = Inspection(symbols=["A/AC.292/2024/3"], lang="es")
    status, findings = judge(DOC, obs(inspection=spanish), None)
    assert status == "wrong-document" and "A/AC.292/2024/3" in findings[0].message


def test_right_symbol_wrong_language_is_wrong_document() -> None:
    status, findings = judge(DOC, obs(inspection=Inspection(symbols=["A/79/62"], lang="fr")), None)
    assert status == "wrong-document" and "fr version" in findings[0].message


def test_unreadable_or_symbol_less_pdf_is_unverified_warning() -> None:
    status, findings = judge(DOC, obs(inspection=Inspection(error="timeout")), None)
    assert status == "unverified" and findings[0].severity == "warning" and "timeout" in findings[0].message
    assert judge(DOC, obs(inspection=Inspection(pages=3)), None)[0] == "unverified"


def test_page_documents_only_need_a_non_empty_answer() -> None:
    page = Document(id="cstd", url="https://x.org/meeting", kind="page")
    assert judge(page, obs(sniffed="html", inspection=Inspection(title="CSTD")), None)[0] == "ok"
    assert judge(page, obs(sniffed="empty", size=0), None)[0] == "wrong-type"


def test_permanent_redirect_is_moved_even_on_first_run() -> None:
    moved = obs(redirects=[Hop(DOC.url, 301, "https://y.org/new.pdf")], final_url="https://y.org/new.pdf")
    status, findings = judge(DOC, moved, None)
    assert status == "ok" and kinds(findings) == ["moved"] and findings[0].severity == "warning"
    temporary = obs(redirects=[Hop(DOC.url, 302, "https://y.org/new.pdf")], final_url="https://y.org/new.pdf")
    assert judge(DOC, temporary, None) == ("ok", [])


def test_drift_since_previous_observation() -> None:
    before = obs(status="ok", sha256="a" * 64, size=1000)
    after = obs(sha256="b" * 64, size=1200, final_url="https://x.org/elsewhere.pdf",
                inspection=Inspection(symbols=["A/79/62"], lang="en", title="Progress made in the implementation "
                                      "of and follow-up to the outcomes of the WSIS, revised", reissued=True))
    status, findings = judge(DOC, after, before)
    assert status == "ok"
    assert kinds(findings) == ["moved", "content-changed", "reissued", "retitled"]
    changed = findings[1]
    assert "aaaaaaaaaaaa" in changed.message and "bbbbbbbbbbbb" in changed.message


def test_gone_and_recovered() -> None:
    status, findings = judge(DOC, obs(http_status=404, sniffed=None, inspection=None), obs(status="ok"))
    assert status == "broken" and kinds(findings) == ["broken", "gone"] and worst(findings) == "error"
    status, findings = judge(DOC, obs(), obs(status="broken", http_status=404))
    assert status == "ok" and kinds(findings) == ["recovered"] and worst(findings) == "info"


def test_type_changed() -> None:
    _, findings = judge(DOC, obs(sniffed="html", inspection=None), obs(status="ok", sniffed="pdf"))
    assert "type-changed" in kinds(findings)


def test_title_mismatch_is_a_warning_but_abbreviation_is_fine() -> None:
    other = Inspection(symbols=["A/79/62"], lang="en", title="Report on something else entirely")
    status, findings = judge(DOC, obs(inspection=other), None)
    assert status == "ok" and kinds(findings) == ["title-mismatch"]
    assert titles_match("Progress made in the implementation", "Progress made in the implementation of and …")
    assert titles_match("UNCTAD's contribution", "UNCTAD’s CONTRIBUTION TO")


def test_sniff_judges_bytes_not_labels() -> None:
    assert sniff(b"%PDF-1.7\n", 10) == "pdf"
    assert sniff(b"\n<!DOCTYPE html><html>", 30) == "html"
    assert sniff(b"", 0) == "empty"
    assert sniff(b"PK\x03\x04", 4) == "other"
    assert sniff(b"", None) is None


def test_an_ocr_misread_symbol_is_unverified_with_its_candidate_named() -> None:
    scan = Inspection(symbols=[], unverified=["A/79/62"], lang="en")  # the scan's text layer read 'A/79/6Z'
    status, finding = status_of(DOC, obs(inspection=scan))
    assert status == "unverified"  # never wrong-document, never ok
    assert finding is not None and "OCR misreading of A/79/62" in finding.message
