"""``linkwatch discover``: the UN documents a concept note (Markdown, HTML, text or PDF; a path or a
URL) cites, as manifest TOML; ``--merge`` appends only what a manifest lacks."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from httpserver import Content, LocalServer

from linkwatch import cli
from linkwatch.un.discover import (
    Discovery, Reference, SourceError, Unlisted, discover, find_references, html_to_text, merge, pdf_flow,
    read_references,
)
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
    found = discover(str(PDFS / "A_79_716.en.pdf"))
    refs = {r.symbol for r in found.references}
    # the joint symbols it cites, not the letter's own (masthead and running headers)
    assert {"A/79/710–S/2024/940", "A/79/684–S/2024/892"} <= refs
    assert "A/79/716–S/2025/18" not in refs and found.own == ["A/79/716", "S/2025/18"]
    assert all(r.page >= 1 and r.line == 0 for r in found.references)
    text = found.to_toml()
    assert '# The source is "A/79/716–S/2025/18" itself: not listed.' in text
    assert 'note = "cited in ' in text and ', page ' in text
    parse(text, "discovered.toml")


def test_source_errors(server: LocalServer, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as missing:
        discover(str(tmp_path / "nope.md"))
    assert missing.value.exit_code == 2
    with pytest.raises(SourceError) as gone:
        discover(server.url("/gone.md"))
    assert gone.value.exit_code == 3 and "404" in str(gone.value)
    with pytest.raises(SourceError, match=r"cannot read the PDF \(timeout after 0.001 s: a long document may need "
                                          r"a larger --timeout\)"):
        discover(str(PDFS / "A_79_716.en.pdf"), timeout=0.001)


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


# --------------------------------------------------------------------------- citations by number
# Excerpts of real UN documents (text as pypdf extracts it from the PDFs of the development corpus).

L27 = """The Economic and Social Council,
 Recalling General Assembly resolutions 79/91 of 4 December 2024 and 79/229
of 19 December 2024,
 Recalling also its resolution 2023/34 of 26 July 2023,
 Guided by the principles of the Charter of the United Nations affirming the
inadmissibility of the acquisition of territory by force, and recalling relevant Security
Council resolutions, including resolutions 242 (1967) of 22 November 1967, 252
(1968) of 21 May 1968, 338 (1973) of 22 October 1973 and 2334 (2016) of 23 December 2016,
 Recalling the resolutions of the tenth emergency special session of the General
Assembly, including resolutions ES-10/13 of 21 October 2003 and ES-10/17 of 15 December 2006,
 Noting with concern that more than 77 years have passed since the adoption of
General Assembly resolution 181 (II) of 29 November 1947,
"""


def _pdf_refs(text: str, own: str) -> tuple[list[str | None], list[Unlisted]]:
    refs, unlisted = read_references(text, own=[own], pages=[(0, 1)])
    return [r.symbol for r in refs], unlisted


def test_resolution_numbers_take_the_organ_from_the_text() -> None:
    symbols, unlisted = _pdf_refs(L27, "E/2025/L.27")
    assert symbols == ["A/RES/79/91", "A/RES/79/229", "E/RES/2023/34", "S/RES/242 (1967)", "S/RES/252 (1968)",
                       "S/RES/338 (1973)", "S/RES/2334 (2016)", "A/RES/ES-10/13", "A/RES/ES-10/17", "A/RES/181(II)"]
    assert unlisted == []
    # in its own text, "the Council" and a bare number are the organ of the document
    assert _pdf_refs("as specified in\nCouncil resolution 2011/20 of 27 July 2011", "E/2025/L.9")[0] == \
        ["E/RES/2011/20"]
    assert _pdf_refs("the General Assembly, in its resolution\n78/253, emphasized", "A/79/7/Add.13")[0] == \
        ["A/RES/78/253"]
    assert _pdf_refs("(see also resolution 78/253, sect. XV, para. 10)", "A/79/7/Add.13")[0] == ["A/RES/78/253"]
    assert _pdf_refs("In its resolution 57/15 on human rights and Indigenous Peoples, the Human Rights\n"
                     "Council encouraged States", "A/HRC/EMRIP/2025/2")[0] == ["A/HRC/RES/57/15"]
    assert _pdf_refs("Recalling its resolutions 1514 (XV) of 14 December 1960 and 1541 (XV) of\n15 December 1960",
                     "A/52/622")[0] == ["A/RES/1514(XV)", "A/RES/1541(XV)"]
    assert _pdf_refs("Recalling Economic and Social Council resolution 671 A (XXV) of 29 April\n1958",
                     "E/2025/15/Add.1")[0] == ["E/RES/671(XXV)"]


def test_a_bare_number_reads_as_the_organ_of_the_last_number_of_its_form() -> None:
    # E/CN.9/2025/6: the Commission's own organ numbers by year; the Assembly was named a sentence
    # before, for a number of the same form
    text = ("and by the decision of the Assembly to extend the Programme of Action beyond the original "
            "20-year time-horizon in\n2014 (resolution 65/234). The outcomes of other relevant international "
            "conferences\nand summits are also taken into account, including the 2030 Agenda for Sustainable\n"
            "Development (resolution 70/1), the Global Compact for Safe, Orderly and Regular\nMigration "
            "(resolution 73/195) and the Progress Declaration of the first International\nMigration Review "
            "Forum (resolution 76/266).")
    assert _pdf_refs(text, "E/CN.9/2025/6")[0] == ["A/RES/65/234", "A/RES/70/1", "A/RES/73/195", "A/RES/76/266"]
    # with nothing before it, the same number in that text is not guessed
    assert _pdf_refs("the 2030 Agenda for Sustainable Development (resolution 70/1)", "E/CN.9/2025/6")[0] == []
    # a number after a space in a symbol's last component
    flow = pdf_flow("E/CN.9/2025/6\nTechnical materials (UN DESA/POP/2024/DC/NO. 10) and (UN DESA/POP/2024/TP/No. 9)\n")
    assert [r.symbol for r in read_references(flow.text, own=flow.own, pages=flow.pages)[0]] == \
        ["DESA/POP/2024/DC/NO.10", "DESA/POP/2024/TP/NO.9"]


def test_every_member_of_a_list_and_a_number_on_the_next_line() -> None:
    text = ("II. Implementation of the authorizations set out in resolution\n2292 (2016) and extended in "
            "resolutions 2357 (2017), 2420\n(2018), 2473 (2019) and 2733 (2024)\n"
            "Considering Economic and Social Council resolution 2011/24 on establishing\nthe United Nations "
            "Committee of Experts on Global Geospatial Information\nManagement (UN-GGIM), and resolutions "
            "2016/27 on strengthening institutional\narrangements on geospatial information management and "
            "2022/24 on enhancing\n")
    symbols, _ = _pdf_refs(text, "E/2025/15/Add.1")
    assert symbols == ["S/RES/2292 (2016)", "S/RES/2357 (2017)", "S/RES/2420 (2018)", "S/RES/2473 (2019)",
                       "S/RES/2733 (2024)", "E/RES/2011/24", "E/RES/2016/27", "E/RES/2022/24"]


def test_decisions() -> None:
    assert _pdf_refs("Pursuant to rule 13 of the rules of procedure and to\ndecision 49/426 of the Assembly, of "
                     "9 December 1994,", "A/80/141")[0] == ["A/DEC/49/426"]
    assert _pdf_refs("See Economic and Social Council decision 1982/112.", "A/80/1")[0] == ["E/DEC/1982/112"]
    assert _pdf_refs("The Economic and Social Council, recalling its resolution 2020/2 of 10 December\n2019 on "
                     "support to the Sahel region and its decision 2024/345 of 23 July 2024", "E/2025/L.22")[0] == \
        ["E/RES/2020/2", "E/DEC/2024/345"]
    assert _pdf_refs("decision 79/505", "A/79/1")[0] == ["A/DEC/79/505"]
    # decisions of a regular session are numbered from 101: a subsidiary body's "Decision 2025/1",
    # reproduced in a Council report (E/2025/70, the Group of Experts on Geographical Names), is not
    # a Council decision
    symbols, unlisted = _pdf_refs("The following decisions adopted by the Group of Experts are brought to the\n"
                                  "attention of the Council:\nDecision 2025/1\nAdvancing geographical names\n"
                                  "49. Pursuant to Economic and Social Council decision 2023/338, the United Nations",
                                  "E/2025/70")
    assert symbols == ["E/DEC/2023/338"] and [u.text for u in unlisted] == ["decision 2025/1"]


def test_continuations_and_ranges_of_written_symbols() -> None:
    text = ("(A/52/364 and Add.1); E/CN.9/2025/5 and 6; working papers (A/AC.109/2071, 2072, 2074-2078);\n"
            "the general debate (see A/C.4/52/SR.3-7); E/1997/81 and Add.1; combined reports CERD/C/PER/CO/22-23.")
    symbols, _ = _pdf_refs(text, "A/52/621")
    assert symbols == ["A/52/364", "A/52/364/Add.1", "E/CN.9/2025/5", "E/CN.9/2025/6", "A/AC.109/2071",
                       "A/AC.109/2072", "A/AC.109/2074", "A/AC.109/2075", "A/AC.109/2076", "A/AC.109/2077",
                       "A/AC.109/2078", "A/C.4/52/SR.3", "A/C.4/52/SR.4", "A/C.4/52/SR.5", "A/C.4/52/SR.6",
                       "A/C.4/52/SR.7", "E/1997/81", "E/1997/81/Add.1", "CERD/C/PER/CO/22-23"]
    # a budget section is a document of its own, not the whole budget
    assert _pdf_refs("document A/64/6 (Sect. 28D)/Add.1, as follows: (A/72/6 (Sect. 29D),\npara. 29D.27)",
                     "A/79/7/Add.13")[0] == ["A/64/6 (Sect. 28D)/Add.1", "A/72/6 (Sect. 29D)"]
    # paragraphs and years after a symbol are not more documents
    assert _pdf_refs("(A/79/345, paras. 64 and 65); (A/79/345), 2024", "A/79/7/Add.13")[0] == ["A/79/345"]


def test_what_is_not_guessed() -> None:
    eca = ("At its fifty-seventh session, the\nEconomic Commission for Africa adopted resolution 2025/1 and "
           "decision 2025/100,\non the basis of which … the Economic\nCommission for Latin America and the "
           "Caribbean adopted resolution 782(XL), on the\nbasis")
    symbols, unlisted = _pdf_refs(eca, "E/2025/15/Add.1")
    assert symbols == []
    assert [(u.text, u.reason) for u in unlisted] == [
        ("resolution 2025/1", "issued by a body with no UN symbol series of its own"),
        ("decision 2025/100", "issued by a body with no UN symbol series of its own"),
        ("resolution 782(XL)", "issued by a body with no UN symbol series of its own")]
    # an Arab League summit resolution quoted in an ECOSOC text: not an ECOSOC number
    symbols, unlisted = _pdf_refs("A/56/1026-S/2002/932, annex II, resolution 14/221.", "E/2025/L.27")
    assert symbols == ["A/56/1026–S/2002/932"] and unlisted[0].text == "resolution 14/221"
    # the OPCW numbers its notes S/<number>/<year>; the Security Council writes S/<year>/<number>
    assert _pdf_refs('the Way Forward” (S/2376/2025). The Note', "S/2025/185")[0] == []
    # OPCW decisions and a treaty's Meeting of the Parties decisions are no UN symbols
    assert _pdf_refs("decisions EC-M-33/DEC.1 and EC-94/DEC.2; Recalling decision III/1 5 of the Meeting",
                     "S/2025/185")[0] == []
    # a Markdown note with no organ named: listed as a comment, not as a document
    refs, unlisted = read_references("- resolution 2023/9 of the session\n")
    found = Discovery("note.md", refs, unlisted=unlisted)
    assert found.references == [] and found.unlisted[0].text == "resolution 2023/9"
    text = found.to_toml()
    assert '#   "resolution 2023/9" (line 1): issuing organ not named' in text
    assert "document" not in tomllib.loads(text)


# --------------------------------------------------------------------------- PDF running text

E_2025_L9 = ("E/2025/L.9\nUnited Nations\nEconomic and Social Council\n"
             " Recalling further its resolution 1998/46 of 31 July 1998 on further measures for \n"
             "related fields and its resolutions 2007/34 of 27 July 2007, 2013/20 of 24 July 2013, \n"
             "__________________ \n 1  General Assembly resolution 69/283, annex II. \f"
             "E/2025/L.9  \n \n25-08488 2/4 \n \n"
             "2021/11 of 8 June 2021, 2023/10 of 7 June 2023 and 2024/7 of 5 June 2024 on the \n"
             "report of the Committee for Development Policy, \n")


def test_a_list_goes_on_across_the_page_break_and_footnotes_come_after() -> None:
    flow = pdf_flow(E_2025_L9)
    assert flow.own == ["E/2025/L.9"]
    assert "25-08488" not in flow.text and "2/4" not in flow.text
    assert flow.text.index("2021/11") < flow.text.index("69/283")  # the body goes on, the note after
    refs, _ = read_references(flow.text, own=flow.own, pages=flow.pages)
    assert [(r.symbol, r.page) for r in refs] == [
        ("E/RES/1998/46", 1), ("E/RES/2007/34", 1), ("E/RES/2013/20", 1), ("E/RES/2021/11", 2),
        ("E/RES/2023/10", 2), ("E/RES/2024/7", 2), ("A/RES/69/283", 1)]


def test_symbols_broken_after_a_slash_are_joined() -> None:
    flow = pdf_flow("E/2025/70\ndivisional reports contained in documents GEGN.2/2025/158/CRP.158, GEGN.2/\n"
                    "2025/58/CRP.58 and GEGN.2/2025/102/ CRP.102; the Pyla/\nPile area\n")
    refs, _ = read_references(flow.text, own=flow.own, pages=flow.pages)
    assert [r.symbol for r in refs] == ["GEGN.2/2025/158/CRP.158", "GEGN.2/2025/58/CRP.58", "GEGN.2/2025/102/CRP.102"]


def test_urls_broken_at_a_line_end_are_joined_and_not_paired_with_unrelated_symbols() -> None:
    page = (" 75 A/74/277, para. 7. See also \n"
            "https://www.ohchr.org/sites/default/files/Documents/Issues/Privacy/SR_Privacy/DraftRecommendati\n"
            "onProtectionUseHealthRelatedData.pdf. \n 76 See www.icimod.org/hkh-calltoaction/.\n"
            " 77 Report (A/79/62), https://undocs.org/en/A/79/62\n")
    flow = pdf_flow("A/HRC/EMRIP/2025/2\n" + page)
    refs, _ = read_references(flow.text, own=flow.own, pages=flow.pages)
    by_symbol = {r.symbol: r for r in refs}
    assert by_symbol["A/74/277"].url is None
    assert by_symbol["A/79/62"].url == "https://undocs.org/en/A/79/62"  # the URL names the symbol
    assert by_symbol[None].url == ("https://www.ohchr.org/sites/default/files/Documents/Issues/Privacy/SR_Privacy/"
                                   "DraftRecommendationProtectionUseHealthRelatedData.pdf")
    assert by_symbol[None].title is None  # no titles guessed from a PDF's running text


# --------------------------------------------------------------------------- TOML is always valid

_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


@settings(max_examples=300, deadline=None)
@given(source=_TEXT, title=_TEXT, url=_TEXT, unlisted=_TEXT, lang=_TEXT)
def test_discover_output_is_always_valid_toml(source: str, title: str, url: str, unlisted: str, lang: str) -> None:
    found = Discovery(source, [Reference(symbols=["A/79/62"], url=url or None, title=title or None, line=3),
                               Reference(url="https://x.org/" + url, title=title or None, page=2)],
                      lang=lang, unlisted=[Unlisted(unlisted, unlisted, unlisted)], own=["A/80/1"])
    data = tomllib.loads(found.to_toml())  # never raises: controls, DEL, quotes and line breaks escaped
    clean = (lambda s: "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s))
    assert data["manifest"]["source"] == clean(source)
    assert data["defaults"]["lang"] == clean(lang)
    first = data["document"][0]
    assert first.get("title") == (clean(title) if title else None)
    assert first.get("url") == (clean(url) if url else None)


def test_adjacent_html_cells_and_items_are_separate_documents() -> None:
    html = ('<ul><li><a href="https://undocs.org/A/79/72">A/79/72</a></li><li><a href="https://undocs.org/A/79/73">'
            'A/79/73</a></li></ul><table><tr><td>A/79/80</td><td>A/79/81</td></tr><tr><td>E/2024/1</td>'
            '<td>Report</td></tr></table><div>A/79/92</div><div>A/79/93</div>')
    refs = {r.symbol: r.url for r in find_references(html_to_text(html))}
    assert refs == {"A/79/72": "https://undocs.org/A/79/72", "A/79/73": "https://undocs.org/A/79/73",
                    "A/79/80": None, "A/79/81": None, "E/2024/1": None, "A/79/92": None, "A/79/93": None}
    # A dash still joins the parts of a joint symbol, on one line or at a line's end.
    assert [r.symbol for r in find_references("- A/79/62 – E/2024/3\n- A/80/62\n- A/80/63")] == [
        "A/79/62–E/2024/3", "A/80/62", "A/80/63"]


def test_invisible_characters_and_fullwidth_digits_do_not_cut_a_symbol() -> None:
    text = "- A/RES/78/1\u00ad0\n- A/RES/78/3\u200b23\n- A/RES/78/\uff13\uff12\uff14\n- A/79/6\ufeff2"
    assert [r.symbol for r in find_references(text)] == ["A/RES/78/10", "A/RES/78/323", "A/RES/78/324", "A/79/62"]


def test_discover_never_writes_a_url_the_manifest_refuses(tmp_path: Path) -> None:
    text = ("- A/79/72 at <http://[::1>\n- A/79/73 at https://user:pass@un.org/c.pdf\n"
            "- A/79/74 “\x1b]8;;http://evil\x07Click” \n- A/79/75 at https://example.org/a75.pdf\n")
    refs = find_references(text)
    assert {r.symbol: r.url for r in refs} == {"A/79/72": None, "A/79/73": None, "A/79/74": None,
                                               "A/79/75": "https://example.org/a75.pdf"}
    manifest = tmp_path / "found.toml"
    manifest.write_text(Discovery("note.md", refs).to_toml())
    assert cli.main(["lint", str(manifest)]) == 0


def test_a_url_place_holder_never_reaches_a_title() -> None:
    (ref, *_rest) = find_references('See "A/79/62" at https://example.org/a"b\\c.pdf and E/CN.9/2025/5 and 6.')
    assert ref.symbol == "A/79/62" and "\u27e6" not in (ref.title or "") and "\u27e7" not in (ref.title or "")


def test_a_number_past_what_a_council_session_adopts_is_not_the_councils() -> None:
    text = ("- Recalling Human Rights Council resolution 47/1, and recalling also resolution 53/199 of "
            "15 December 1998 and Human Rights Council resolution 53/2")
    refs, unlisted = read_references(text, own=["A/RES/79/100"])
    symbols = {r.symbol for r in refs}
    assert {"A/HRC/RES/47/1", "A/HRC/RES/53/2"} <= symbols and "A/HRC/RES/53/199" not in symbols


def test_a_raw_delete_character_is_escaped() -> None:
    text = Discovery("a\x7fb.pdf", [Reference(symbols=["A/1/2"], title="x\x7fy\x85z")]).to_toml()
    assert "\x7f" not in text and "\x85" not in text and "\\u007f" in text
    assert tomllib.loads(text)["document"][0]["title"] == "x\x7fy\x85z"


# --------------------------------------------------------------------------- corpus

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.mark.skipif(not (SHARED / "corpus" / "un-dev").is_dir(),
                    reason="the development corpus (../shared/corpus/un-dev) is not here")
def test_citation_recall_and_precision_on_the_corpus() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import discover_accuracy as bench

    totals = [0, 0, 0, 0]
    for source, _, rel in bench._rows(bench.TRUTH / "split.tsv"):
        expected = bench.truth(source)
        listed = [r.symbols for r in discover(str(SHARED / rel)).references if r.symbols]
        found, right, _, _ = bench.score(expected, listed)
        for i, v in enumerate((len(expected), found, len(listed), right)):
            totals[i] += v
    n, found, listed, right = totals
    assert found / n >= 0.95 and right / listed >= 0.98
