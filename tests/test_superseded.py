"""Successor editions: a later session's edition served where the cited one was is ``superseded``,
not a plain ``wrong-document``."""
from __future__ import annotations

from pathlib import Path

from httpserver import Content, LocalServer

import linkwatch
from linkwatch.compare import judge
from linkwatch.pdf.inspect import Inspection
from linkwatch.manifest import Document
from linkwatch.observation import Observation

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=0, progress=False)
WSIS_2024 = ("Progress made in the implementation of and follow-up to the outcomes of the World Summit on the "
             "Information Society at the regional and international levels")


def _check(server: LocalServer, tmp_path: Path, title: str):
    url = server.route("/official-document/a79d62_en.pdf", Content.file(PDFS / "A_80_62.en.pdf", "application/pdf"))
    path = tmp_path / "m.toml"
    path.write_text(f'[[document]]\nid = "a-79-62"\nsymbol = "A/79/62–E/2024/3"\nlang = "en"\n'
                    f'title = "{title}"\nurl = "{url}"\n', encoding="utf-8")
    (doc,) = linkwatch.check(path, archive=tmp_path / "archive", **FAST).documents
    return doc


def test_2025_report_at_the_2024_url_is_superseded(server: LocalServer, tmp_path: Path) -> None:
    doc = _check(server, tmp_path, WSIS_2024)
    assert doc.status == "wrong-document"  # the cited document is not what the URL serves…
    assert [f.kind for f in doc.findings][0] == "superseded"  # …but it is its later edition
    assert "wrong-document" not in [f.kind for f in doc.findings]
    finding = doc.findings[0]
    assert finding.severity == "error"
    assert "A/80/62–E/2025/12" in finding.message and "A/79/62–E/2024/3" in finding.message
    assert doc.symbols == ["A/80/62", "E/2025/12"]
    assert "superseded" in doc.drift


def test_another_title_is_a_plain_wrong_document(server: LocalServer, tmp_path: Path) -> None:
    doc = _check(server, tmp_path, "Report of the Commission on Science and Technology for Development")
    assert doc.status == "wrong-document"
    assert [f.kind for f in doc.findings][0] == "wrong-document"


def _obs(status: str | None, symbols: list[str], title: str) -> Observation:
    return Observation(document_id="d", url="https://x.org/a.pdf", observed_at="2025-01-01T00:00:00Z", http_status=200,
                       size=10, sha256="a" * 64, sniffed="pdf", status=status,
                       inspection=Inspection(symbols=symbols, title=title, lang="en", pages=3))


def test_title_of_the_last_good_observation_counts_when_the_manifest_has_none() -> None:
    doc = Document(id="d", url="https://x.org/a.pdf", symbols=("A/79/62", "E/2024/3"), lang="en")
    previous = _obs("ok", ["A/79/62", "E/2024/3"], WSIS_2024)
    new = _obs(None, ["A/80/62", "E/2025/12"], WSIS_2024 + ", including the 20-year review thereof")
    status, findings = judge(doc, new, previous)
    assert status == "wrong-document" and findings[0].kind == "superseded"
    # without any title to compare, a new symbol alone proves nothing
    status, findings = judge(doc, new, None)
    assert findings[0].kind == "wrong-document"
    # an earlier edition is never a successor
    older = _obs(None, ["A/78/62", "E/2023/3"], WSIS_2024)
    assert judge(doc, older, previous)[1][0].kind == "wrong-document"
