"""Manifests: valid ones load into Documents; every mistake names file, line and field."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkwatch.manifest import ManifestError, derive_id, load, load_all, parse

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
[manifest]
title = "Test"
source = "a concept note"

[defaults]
lang = "en"

[[document]]
symbol = "A/79/62 – E/2024/3"
title = "Progress made"
url = "https://example.org/a79d62_en.pdf"
mirrors = ["https://undocs.org/en/A/79/62"]

[[document]]
id = "cstd-27"
url = "https://example.org/meeting"
kind = "page"
lang = "fr"
"""


def test_valid_manifest_loads_documents_with_lines_and_defaults() -> None:
    m = parse(GOOD, "m.toml")
    assert m.title == "Test" and m.source == "a concept note"
    first, second = m.documents
    assert first.id == "a-79-62"
    assert first.symbols == ("A/79/62", "E/2024/3")
    assert first.lang == "en" and first.kind == "pdf" and first.line == 8
    assert first.urls == ("https://example.org/a79d62_en.pdf", "https://undocs.org/en/A/79/62")
    assert second.id == "cstd-27" and second.kind == "page" and second.lang == "fr" and second.line == 14


def test_shipped_manifest_is_valid_and_covers_both_concept_notes() -> None:
    m = load(ROOT / "manifests" / "cstd-wsis.toml")
    symbols = {s for d in m.documents for s in d.symbols}
    assert {"A/79/62", "E/2024/3", "E/RES/2023/3", "A/RES/78/132", "A/77/62", "E/2022/8", "E/RES/2021/28"} <= symbols
    pages = [d for d in m.documents if d.kind == "page"]
    assert len(pages) == 2 and all("commission-science-and-technology" in d.url for d in pages)
    cited = {d.url for d in m.documents}
    assert "https://unctad.org/system/files/official-document/a79d62_en.pdf" in cited
    assert "https://unctad.org/system/files/official-document/ecosoc_res_2023d3_en.pdf" in cited
    assert "https://unctad.org/system/files/official-document/A_res_78_132_en.pdf" in cited


@pytest.mark.parametrize("text, line, field, words", [
    ('[[document]]\nurl = "https://x.org/a.pdf"\nsymbl = "A/1"\n', 3, "document.symbl", "did you mean 'symbol'"),
    ('[[document]]\nurl = "https://x.org/a.pdf"\ntitle = 3\n', 3, "document.title", "must be a string"),
    ('[[document]]\ntitle = "A report"\n', 1, "document.url", "missing"),  # a symbol alone would resolve one
    ('[[document]]\nid = "x"\nurl = "https://x.org/a"\n\n[[document]]\nid = "x"\nurl = "https://x.org/b"\n',
     5, "id", "duplicate id 'x' (first at line 1)"),
    ('[[document]]\nurl = "ftp://x.org/a.pdf"\n', 2, "document.url", "not an http(s) URL"),
    ('[[document]]\nurl = "https://x.org/a"\nkind = "html"\n', 3, "document.kind", "not a kind"),
    ('[[document]]\nurl = "https://x.org/a"\nlang = "English"\n', 3, "document.lang", "not a language code"),
    ('[[document]]\nurl = "https://x.org/a"\nmirrors = "https://y.org"\n', 3, "document.mirrors", "must be a list"),
    ('[manifest]\ntitle = "t"\nauthor = "me"\n', 3, "manifest.author", "unknown key"),
    ('[defaults]\nlang = "en"\n[documents]\nx = 1\n', 3, "documents", "unknown table"),
    ('[[document]]\nurl = "https://x.org/a\n', 2, "syntax", "Illegal character"),
    ('[[document]]\nurl = "https://x.org/a"\nurl = "https://x.org/b"\n', 3, "syntax", ""),
])
def test_bad_manifest_names_line_and_field(text: str, line: int, field: str, words: str) -> None:
    with pytest.raises(ManifestError) as err:
        parse(text, "bad.toml")
    assert (err.value.path, err.value.line, err.value.field) == ("bad.toml", line, field)
    assert str(err.value).startswith(f"bad.toml:{line}: {field}: ")
    assert words in err.value.message


def test_duplicate_id_across_manifests(tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('[[document]]\nurl = "https://x.org/a.pdf"\nsymbol = "A/1"\n')
    b.write_text('\n[[document]]\nurl = "https://x.org/b.pdf"\nsymbol = "a/1"\n')
    with pytest.raises(ManifestError, match=r"b.toml:2: id: duplicate id 'a-1' \(first at .*a.toml:1\)"):
        load_all([a, b])


def test_missing_file_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such file"):
        load(tmp_path / "nope.toml")


def test_derived_ids_are_stable_slugs() -> None:
    assert derive_id("S/RES/2768 (2025)", "https://x") == "s-res-2768-2025"
    assert derive_id("E/2025/15/Add.1/Rev.1", "https://x") == "e-2025-15-add.1-rev.1"
    assert derive_id(None, "https://unctad.org/meeting/cstd-twenty-fifth-session") == "cstd-twenty-fifth-session"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_either_loads_or_raises_manifest_error(text: str) -> None:
    try:
        parse(text, "fuzz.toml")
    except ManifestError as exc:
        assert str(exc).startswith("fuzz.toml:")


VALUES = st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.lists(st.text(max_size=5), max_size=3),
                   st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "symbol", "title", "lang", "url", "mirrors", "kind", "nte", "URL"]),
                       VALUES, max_size=6))
def test_wrong_shapes_never_escape_as_tracebacks(doc: dict[str, object]) -> None:
    import json

    lines = ["[[document]]"] + [f"{json.dumps(k)} = {_toml(v)}" for k, v in doc.items()]
    try:
        parse("\n".join(lines) + "\n", "shape.toml")
    except ManifestError as exc:
        assert exc.line >= 1 and exc.field


def _toml(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {v}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)


# --------------------------------------------------------------------------- symbols the grammar doubts

@pytest.mark.parametrize("symbol", ["GEGN.2/2025/35", "DP-FPA/2025/1", "CEB/2025/4", "JIU/NOTE/2022/1/Rev.1",
                                    "DP/FPA/2025/4 (Part I/Add.1)", "E/ICEF/672 (Première partie)"])
def test_real_symbols_of_series_once_unknown_are_accepted(symbol: str) -> None:
    doc = parse(f'[[document]]\nsymbol = "{symbol}"\nurl = "https://x.org/a.pdf"\n').documents[0]
    assert len(doc.symbols) == 1  # one symbol: DP-FPA is a joint body, not two documents


def test_a_doubtful_symbol_is_a_lint_warning_not_a_refusal(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from linkwatch.cli import main
    from linkwatch.lint import lint

    path = tmp_path / "m.toml"
    path.write_text('[[document]]\nid = "scan"\nsymbol = "A./47/435"\nurl = "https://x.org/a.pdf"\n\n'
                    '[[document]]\nid = "odd"\nsymbol = "UNDP-XYZ/whatever"\nurl = "https://x.org/b.pdf"\n')
    manifest = load(str(path))  # the run proceeds with both documents
    assert [d.id for d in manifest.documents] == ["scan", "odd"]
    problems = lint([str(path)])
    assert [(p.line, p.severity) for p in problems] == [(1, "warning"), (6, "warning")]
    assert "misreading of 'A/47/435'" in problems[0].message
    assert main(["lint", str(path)]) == 0
    out = capsys.readouterr()
    assert "warning: 'A./47/435' looks like a misreading" in out.out and "1 manifest OK" in out.err
    assert main(["lint", str(path), "--format", "github"]) == 0
    assert capsys.readouterr().out.startswith(f"::warning file={path},line=1,")


def test_symbol_only_entry_that_cannot_be_resolved_says_so() -> None:
    with pytest.raises(ManifestError) as err:
        parse('[[document]]\nsymbol = "whatever/x"\n')
    assert err.value.field == "document.url" and "give its URL" in err.value.message


@pytest.mark.parametrize("text, field", [
    ('[[document]]\nid = "a\\n"\nurl = "https://a.org/x.pdf"\n', "document.id"),
    ('[[document]]\nlang = "en\\n"\nurl = "https://a.org/x.pdf"\n', "document.lang"),
    ('[hosts."a.org"]\nheaders = { "X-A\\n" = "v" }\n[[document]]\nurl = "https://a.org/x.pdf"\n', "headers"),
])
def test_a_final_newline_does_not_pass_a_pattern_check(text: str, field: str) -> None:
    # "$" matches before a final newline: an id "a\n" used to pass (and broke every line-based output).
    with pytest.raises(ManifestError) as exc:
        parse(text, "m.toml")
    assert field in exc.value.field


def test_a_url_with_a_control_or_invisible_character_is_refused() -> None:
    for bad in ("\\u0007", "\\u200b", "\\u001b"):  # TOML escapes: BEL, zero-width space, ESC
        with pytest.raises(ManifestError) as err:
            parse(f'[[document]]\nid = "a"\nurl = "https://example.org/a{bad}b.pdf"\n', "m.toml")
        assert "control or invisible character" in str(err.value) and err.value.line == 3
