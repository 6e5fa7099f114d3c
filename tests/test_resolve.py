"""Resolving a symbol to URLs: the resolver list, UNCTAD's file codes, symbol-only manifest entries
and ``mirrors = "auto"`` (against a local server standing in for the resolvers)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from httpserver import Content, LocalServer, Status

import linkwatch
from linkwatch import cli
from linkwatch.manifest import ManifestError, parse
from linkwatch.un.resolve import (
    Resolvers, mirror_urls, primary_url, resolve, symbol_from_unctad_code, unctad_code, unctad_codes, unctad_url,
)

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
FAST = dict(min_interval=0.0, backoff=0.05, timeout=5.0, retries=0, progress=False)

CODES = [
    ("A/79/62", "a79d62"),
    ("E/CN.16/2024/2", "ecn162024d2"),
    ("TD/B/73/5", "tdb73d5"),
    ("TD/B/EX(70)/R.1", "tdbex70r1"),
    ("TD/B/71/L.1", "tdb71l1"),
    ("TD/B/WP/343/Add.2", "wpd343add2"),
]


@pytest.mark.parametrize(("symbol", "code"), CODES)
def test_unctad_code_both_ways(symbol: str, code: str) -> None:
    assert unctad_code(symbol) == code
    assert symbol_from_unctad_code(code) == symbol
    assert symbol_from_unctad_code(f"https://unctad.org/system/files/official-document/{code}_fr.pdf") == symbol


def test_unctad_code_is_a_hint_real_names_come_first() -> None:
    assert unctad_codes("E/RES/2023/3") == ["ecosoc_res_2023d3", "eres2023d3"]
    assert unctad_codes("A/RES/78/132") == ["A_res_78_132", "ares78d132"]
    assert symbol_from_unctad_code("ecosoc_res_2023d3_en.pdf") == "E/RES/2023/3"
    assert symbol_from_unctad_code("A_res_78_132_en.pdf") == "A/RES/78/132"
    assert symbol_from_unctad_code("digital-economy-report-2024") is None
    # a joint symbol is filed under its first part
    assert unctad_code("A/79/62–E/2024/3") == "a79d62"


def test_unctad_files_a_yearly_publication_under_its_series_and_year() -> None:
    # UNCTAD's real file for the World Investment Report 2024 is wir2024_en.pdf (not wird2024)
    assert unctad_codes("UNCTAD/WIR/2024") == ["wir2024"]
    assert primary_url("UNCTAD/WIR/2024") == "https://unctad.org/system/files/official-document/wir2024_en.pdf"
    assert resolve("UNCTAD/WIR/2024")[-1].url.endswith("/wir2024_en.pdf")
    assert unctad_code("UNCTAD/ALDC/AFRICA/2022") == "aldcafrica2022"
    assert unctad_code("UNCTAD/DITC/TED/2023/1") == "ditcted2023d1"  # numbered within the year: "d"


@pytest.mark.parametrize("symbol", ["S/RES/2768 (2025)", "S/2025/185", "A/HRC/55/1", "A/C.2/79/L.3",
                                    "E/CN.6/2025/4", "ST/SGB/2019/8", "A/80/15 (Part I)", "A/RES/1514(XV)"])
def test_no_unctad_file_name_for_what_unctad_does_not_publish(symbol: str) -> None:
    assert unctad_codes(symbol) == []
    assert all(p.resolver != "unctad" for p in resolve(symbol))


@pytest.mark.parametrize("symbol", ["A/79/62", "E/2024/3", "A/RES/70/1", "E/RES/2023/3", "TD/B/73/5",
                                    "E/CN.16/2024/2", "UNCTAD/WIR/2024"])
def test_unctad_file_names_for_its_own_series_and_plenary_documents(symbol: str) -> None:
    assert resolve(symbol)[-1].resolver == "unctad"


def test_a_part_is_encoded_with_its_space_in_urls() -> None:
    places = {p.resolver: p.url for p in resolve("A/80/15 (Part I)")}
    assert places["ods"] == "https://documents.un.org/api/symbol/access?s=A/80/15%20(Part%20I)&l=en&t=pdf"
    assert places["undocs"] == "https://undocs.org/en/A/80/15%20(Part%20I)"
    assert "PartI" not in " ".join(places.values())
    # a Security Council resolution's year is written unspaced, as the resolvers take it
    assert resolve("S/RES/2768 (2025)")[1].url == "https://undocs.org/en/S/RES/2768(2025)"
    # an UNCTAD series with a part has no file name by convention: the ODS is the primary
    assert primary_url("TD/B/71/2 (Part I)").startswith("https://documents.un.org/api/symbol/access?s=TD/B/71/2%20")


def test_unctad_writes_chinese_as_ch() -> None:
    assert unctad_url("a79d62", "zh").endswith("/official-document/a79d62_ch.pdf")
    assert unctad_url("a79d62", "ar").endswith("/official-document/a79d62_ar.pdf")


def test_resolve_order_and_urls() -> None:
    places = resolve("A/79/62–E/2024/3", "fr")
    assert [p.resolver for p in places] == ["ods", "undocs", "docs", "library", "unctad"]
    assert [p.url for p in places] == [
        "https://documents.un.org/api/symbol/access?s=A/79/62&l=fr&t=pdf",
        "https://undocs.org/fr/A/79/62",
        "https://docs.un.org/fr/A/79/62",
        "https://digitallibrary.un.org/search?ln=fr&p=191__a%3A%22A%2F79%2F62%22",
        "https://unctad.org/system/files/official-document/a79d62_fr.pdf",
    ]
    assert [p.kind for p in places] == ["pdf", "pdf", "pdf", "page", "pdf"]
    # an SC resolution: no space in URLs
    assert resolve("S/RES/2768 (2025)")[1].url == "https://undocs.org/en/S/RES/2768(2025)"
    with pytest.raises(ValueError):
        resolve("HIV/AIDS")


def test_primary_url_choice() -> None:
    # UNCTAD's own series are static files on unctad.org; everything else: the ODS symbol API.
    assert primary_url("TD/B/73/5") == "https://unctad.org/system/files/official-document/tdb73d5_en.pdf"
    assert primary_url("E/CN.16/2024/2", "zh").endswith("ecn162024d2_ch.pdf")
    assert primary_url("A/79/62") == "https://documents.un.org/api/symbol/access?s=A/79/62&l=en&t=pdf"
    # auto mirrors: every place that can serve the PDF, not the Digital Library search page
    assert mirror_urls("A/79/62", exclude=(primary_url("A/79/62"),)) == (
        "https://undocs.org/en/A/79/62", "https://docs.un.org/en/A/79/62",
        "https://unctad.org/system/files/official-document/a79d62_en.pdf")


def test_manifest_symbol_only_and_auto_mirrors() -> None:
    m = parse('[defaults]\nlang = "es"\n\n[[document]]\nsymbol = "A/79/62–E/2024/3"\nmirrors = "auto"\n\n'
              '[[document]]\nsymbol = "TD/B/73/5"\n')
    first, second = m.documents
    assert first.url == "https://documents.un.org/api/symbol/access?s=A/79/62&l=es&t=pdf"
    assert first.urls[1:] == ("https://undocs.org/es/A/79/62", "https://docs.un.org/es/A/79/62",
                              "https://unctad.org/system/files/official-document/a79d62_es.pdf")
    assert first.id == "a-79-62"
    assert second.url.endswith("tdb73d5_es.pdf") and second.mirrors == ()


@pytest.mark.parametrize(("text", "message"), [
    ('[[document]]\ntitle = "x"\n', "document.url: missing"),
    ('[[document]]\nurl = "https://x.org/a.pdf"\nmirrors = "auto"\n', '"auto" needs a symbol'),
    ('[[document]]\nsymbol = "A/1/2"\nmirrors = "some"\n', "document.mirrors: must be a list of URLs or \"auto\", not 'some'"),
    ('[[document]]\nsymbol = "A/1/2"\nmirrors = 3\n', "must be a list or string"),
])
def test_manifest_resolution_errors(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message.replace("(", r"\(")):
        parse(text, "m.toml")


def _resolvers(server: LocalServer) -> Resolvers:
    return Resolvers(ods=server.url("/ods").rstrip("/"), undocs=server.url("/undocs").rstrip("/"),
                     docs=server.url("/docs").rstrip("/"), library=server.url("/dl").rstrip("/"),
                     unctad=server.url("/unctad").rstrip("/"))


def _manifest(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text('[defaults]\nlang = "en"\n\n' + body, encoding="utf-8")
    return path


def test_symbol_only_entry_is_fetched_from_the_resolver(server: LocalServer, tmp_path: Path) -> None:
    server.route("/ods/api/symbol/access", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf"))
    path = _manifest(tmp_path, '[[document]]\nsymbol = "A/RES/78/323"\n')
    report = linkwatch.check(path, archive=tmp_path / "archive", resolvers=_resolvers(server), **FAST)
    (doc,) = report.documents
    assert doc.status == "ok" and doc.symbols == ["A/RES/78/323"]
    (request,) = server.requests("/ods/api/symbol/access")
    assert request.target == "/ods/api/symbol/access?s=A/RES/78/323&l=en&t=pdf"


def test_auto_mirrors_are_tried_and_the_report_names_the_one_that_answered(server: LocalServer, tmp_path: Path) -> None:
    server.route("/ods/api/symbol/access", Status(202, headers={"x-amzn-waf-action": "challenge"}))
    server.route("/undocs/en/A/80/62", Status(404))
    server.route("/docs/en/A/80/62", Content.file(PDFS / "A_80_62.en.pdf", "application/pdf"))
    path = _manifest(tmp_path, '[[document]]\nsymbol = "A/80/62–E/2025/12"\nmirrors = "auto"\n')
    report = linkwatch.check(path, archive=tmp_path / "archive", resolvers=_resolvers(server), **FAST)
    (doc,) = report.documents
    assert doc.status == "ok"
    assert doc.url == server.url("/docs/en/A/80/62")
    mirror = [f for f in doc.findings if f.kind == "mirror"]
    assert mirror and server.url("/docs/en/A/80/62") in mirror[0].message and "blocked" in mirror[0].message
    assert server.hits("/unctad/system/files/official-document/a80d62_en.pdf") == 0  # stopped at the first ok


def test_cli_resolve(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["resolve", "E/CN.16/2024/2", "--lang", "zh", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["url"] == "https://documents.un.org/api/symbol/access?s=E/CN.16/2024/2&l=zh&t=pdf"
    assert rows[-1]["url"].endswith("/ecn162024d2_ch.pdf")
    assert cli.main(["resolve", "TD/B/EX(70)/R.1"]) == 0
    assert "tdbex70r1_en.pdf" in capsys.readouterr().out
    assert cli.main(["resolve", "not a symbol"]) == 2
    capsys.readouterr()
    # Piped (pytest's capture is no terminal): every URL whole, one place per line, however long.
    assert cli.main(["resolve", "A/HRC/WG.6/44/L.1/Add.1/Corr.1", "--lang", "ar"]) == 0
    lines = capsys.readouterr().out.splitlines()
    urls = [p.url for p in linkwatch.resolve_symbol("A/HRC/WG.6/44/L.1/Add.1/Corr.1", lang="ar")]
    assert len(lines) == 1 + len(urls) and all(line.endswith(url) for line, url in zip(lines[1:], urls))
    assert max(len(u) for u in urls) > 80
    assert linkwatch.resolve_symbol("A/79/62")[1].url == "https://undocs.org/en/A/79/62"
