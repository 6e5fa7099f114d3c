"""``linkwatch discover``: the UN documents a concept note (Markdown, HTML, text or PDF; a path or a
URL) cites, as manifest TOML; ``--merge`` appends only what a manifest lacks."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from httpserver import Content, LocalServer

from linkwatch import cli
from linkwatch.un.discover import Discovery, SourceError, discover, find_references, merge
from linkwatch.manifest import parse

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NOTES = Path(__file__).parent / "fixtures" / "concept-notes"
PDFS = Path(__file__).parent / "fixtures" / "pdfs"
CSTD25 = NOTES / "cstd25-2022-wsis-panel-concept-note.md"
CSTD27 = NOTES / "cstd27-2024-wsis-panel-concept-note.md"
UNCTAD = "https://unctad.org/system/files/official-document/"
WSIS = ("Progress made in the implementation of and follow-up to the outcomes of the World Summit on the "
        "Information Society at the regional and international levels")
ASSESSMENT = ("Assessment of the progress made in the implementation of and follow-up to the outcomes of the "
              "World Summit on the Information Society")

# (symbol, url, title, kind) the two concept notes cite.
EXPECTED_27 = {
    ("A/79/62–E/2024/3", UNCTAD + "a79d62_en.pdf", WSIS, "pdf"),
    ("E/RES/2023/3", UNCTAD + "ecosoc_res_2023d3_en.pdf", ASSESSMENT, "pdf"),
    ("A/RES/78/132", UNCTAD + "A_res_78_132_en.pdf",
     "Information and communications technologies for sustainable development", "pdf"),
    (None, "https://unctad.org/meeting/commission-science-and-technology-development-twenty-seventh-session",
     "Documents available on the website of the CSTD", "page"),
}
EXPECTED_25 = {
    ("A/77/62–E/2022/8", None, WSIS, "pdf"),
    ("E/RES/2021/28", None, ASSESSMENT, "pdf"),
    (None, "https://unctad.org/meeting/commission-science-and-technology-development-twenty-fifth-session",
     "Documents available on the website of the CSTD", "page"),
}


def _entries(toml_text: str) -> set[tuple[str | None, str | None, str | None, str]]:
    docs = tomllib.loads(toml_text)["document"]
    return {(d.get("symbol"), d.get("url"), d.get("title"), d.get("kind", "pdf")) for d in docs}


@pytest.mark.parametrize(("note", "expected"), [(CSTD27, EXPECTED_27), (CSTD25, EXPECTED_25)])
def test_concept_notes(note: Path, expected: set) -> None:
    text = discover(str(note)).to_toml()
    assert _entries(text) == expected
    manifest = parse(text, "discovered.toml")  # a manifest linkwatch accepts as is
    assert len(manifest.documents) == len(expected)
    for doc in manifest.documents:
        if doc.symbols:
            assert doc.mirrors  # mirrors = "auto" resolved
    # cited without a URL: the URL is resolved from the symbol
    if note == CSTD25:
        by_id = {d.id: d for d in manifest.documents}
        assert by_id["a-77-62"].url == "https://documents.un.org/api/symbol/access?s=A/77/62&l=en&t=pdf"


def test_shared_concept_notes_are_the_test_copies() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "concept-notes"
    if shared.is_dir():  # only in the development tree; the copies under tests/ are what the suite uses
        for note in (CSTD25, CSTD27):
            assert (shared / note.name).read_bytes() == note.read_bytes()
    assert CSTD25.is_file() and CSTD27.is_file()


def test_citation_forms() -> None:
    text = """
- See E/CN.16/2024/2-E/2024/3 at <https://example.org/ecn162024d2_en.pdf>.
- Economic and Social Council resolution 2022/15: “Science, technology and innovation for development”
- General Assembly resolution 79/194, available at: https://example.org/ares79d194.pdf
- Security Council resolution 2768 (2025)
- resolution 2023/9 (no organ named: not guessed)
- HIV/AIDS and TCP/IP are not symbols; nor is decision III/12.
- [A/80/15 (Part I)](https://undocs.org/en/A/80/15%20(Part%20I)) Report of the Trade and Development Board
"""
    refs = {r.symbol: r for r in find_references(text)}
    assert set(refs) == {"E/CN.16/2024/2–E/2024/3", "E/RES/2022/15", "A/RES/79/194", "S/RES/2768 (2025)",
                         "A/80/15 (Part I)"}
    assert refs["E/CN.16/2024/2–E/2024/3"].url == "https://example.org/ecn162024d2_en.pdf"
    assert refs["E/RES/2022/15"].title == "Science, technology and innovation for development"
    assert refs["A/RES/79/194"].url == "https://example.org/ares79d194.pdf"
    assert refs["A/80/15 (Part I)"].url == "https://undocs.org/en/A/80/15%20(Part%20I)"


def test_markdown_escapes_in_urls_are_undone() -> None:
    (ref,) = find_references(r"- Report (A/79/62), at: [a79d62\_en.pdf](https://x.org/a79d62\_en.pdf)")
    assert ref.url == "https://x.org/a79d62_en.pdf"
    (ref,) = find_references(r"- Report (A/79/62), at https://x.org/a79d62\\_en.pdf")
    assert ref.url == "https://x.org/a79d62_en.pdf"


def test_merge_adds_only_new_documents_and_keeps_comments_and_order(tmp_path: Path) -> None:
    manifest = tmp_path / "m.toml"
    original = ('# my references, by hand\n[manifest]\ntitle = "mine"\n\n[[document]]\nid = "mine-1"\n'
                'symbol = "A/79/62-E/2024/3"  # cited in 2024\nurl = "https://example.org/x.pdf"\n\n'
                '# a page\n[[document]]\nid = "a-res-78-132"\nurl = "https://unctad.org/meeting/'
                'commission-science-and-technology-development-twenty-seventh-session"\nkind = "page"\n')
    manifest.write_text(original, encoding="utf-8")
    added = merge(discover(str(CSTD27)), manifest)
    assert [r.symbol for r in added] == ["E/RES/2023/3", "A/RES/78/132"]  # A/79/62 and the page were there
    text = manifest.read_text(encoding="utf-8")
    assert text.startswith(original)  # comments, order and bytes of the original kept
    ids = [d.id for d in parse(text, str(manifest)).documents]
    assert ids == ["mine-1", "a-res-78-132", "e-res-2023-3", "a-res-78-132-2"]  # no id clash
    assert merge(discover(str(CSTD27)), manifest) == []  # idempotent
    assert manifest.read_text(encoding="utf-8") == text


def test_discover_from_urls_markdown_and_html(server: LocalServer) -> None:
    md_url = server.route("/notes/cstd27.md", Content.file(CSTD27, "text/markdown"))
    assert _entries(discover(md_url).to_toml()) == EXPECTED_27
    html = ("<html><body><h2>Supporting documents</h2><ul>"
            "<li>Report of the Secretary-General: Progress made in the implementation of and follow-up to the "
            "outcomes of the World Summit on the Information Society at the regional and international levels "
            "(A/79/62 – E/2024/3), <a href='/files/a79d62_en.pdf'>available here</a></li>"
            "<li><a href='https://undocs.org/en/A/RES/78/132'>A/RES/78/132</a></li>"
            "<li>Documents on the <a href='https://unctad.org/meeting/cstd-27'>CSTD website</a></li>"
            "</ul><script>var s = 'A/1/2';</script></body></html>").encode()
    html_url = server.route("/notes/cstd27.html", Content(html, "text/html; charset=utf-8"))
    refs = {r.symbol: r for r in discover(html_url).references}
    assert set(refs) == {"A/79/62–E/2024/3", "A/RES/78/132", None}
    assert refs["A/79/62–E/2024/3"].url == server.url("/files/a79d62_en.pdf")  # relative link made absolute
    assert refs["A/79/62–E/2024/3"].title == WSIS
    assert refs["A/RES/78/132"].url == "https://undocs.org/en/A/RES/78/132"
    assert refs[None].url == "https://unctad.org/meeting/cstd-27" and refs[None].kind == "page"


def test_discover_from_a_pdf() -> None:
    refs = {r.symbol for r in discover(str(PDFS / "A_79_716.en.pdf")).references}
    # the letter's own joint symbol and the joint symbols it cites
    assert {"A/79/716–S/2025/18", "A/79/710–S/2024/940", "A/79/684–S/2024/892"} <= refs


def test_source_errors(server: LocalServer, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as missing:
        discover(str(tmp_path / "nope.md"))
    assert missing.value.exit_code == 2
    with pytest.raises(SourceError) as gone:
        discover(server.url("/gone.md"))
    assert gone.value.exit_code == 3 and "404" in str(gone.value)


def test_cli_discover(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "found.toml"
    assert cli.main(["discover", str(CSTD25), "--output", str(out)]) == 0
    assert _entries(out.read_text(encoding="utf-8")) == EXPECTED_25
    manifest = tmp_path / "m.toml"
    manifest.write_text(out.read_text(encoding="utf-8"), encoding="utf-8")
    assert cli.main(["discover", str(CSTD27), "--merge", str(manifest)]) == 0
    assert "added 4 document(s)" in capsys.readouterr().err
    assert _entries(manifest.read_text(encoding="utf-8")) == EXPECTED_25 | EXPECTED_27
    assert cli.main(["discover", str(tmp_path / "missing.md")]) == 2
    assert isinstance(Discovery("s", []).to_toml(), str)
