"""UN document symbol grammar: split_joint, normalise, key, same, find_symbols."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkwatch.un.symbols import DASHES, find_symbols, key, looks_like_symbol, normalise, same, split_joint


@pytest.mark.parametrize(("text", "parts"), [
    ("A/80/62*−E/2025/12*", ["A/80/62*", "E/2025/12*"]),
    ("A/79/62 – E/2024/3", ["A/79/62", "E/2024/3"]),
    ("A/79/716-S/2025/18", ["A/79/716", "S/2025/18"]),
    ("A/79/62—E/2024/3", ["A/79/62", "E/2024/3"]),
    ("A/79/62–\nE/2024/3", ["A/79/62", "E/2024/3"]),
    ("A/51/100\nS/1996/200", ["A/51/100", "S/1996/200"]),
    ("A/ES-10/1022", ["A/ES-10/1022"]),
    ("A/RES/S-8/1", ["A/RES/S-8/1"]),
    ("A/HRC/WG.6/34/ITA/3", ["A/HRC/WG.6/34/ITA/3"]),
    ("TD/B/EX(70)/R.1", ["TD/B/EX(70)/R.1"]),
    ("A/ES-10/1022-S/2025/1", ["A/ES-10/1022", "S/2025/1"]),
    ("  S/RES/2768 (2025) ", ["S/RES/2768 (2025)"]),
])
def test_split_joint(text: str, parts: list[str]) -> None:
    assert split_joint(text) == parts


@pytest.mark.parametrize(("raw", "canonical"), [
    (" a/res/78/323 ", "A/RES/78/323"),
    ("S/RES/2768(2025)", "S/RES/2768 (2025)"),
    ("S/RES/2768  (2025)", "S/RES/2768 (2025)"),
    ("e/2025/15/add.1/rev.1", "E/2025/15/Add.1/Rev.1"),
    ("A/80/62*", "A/80/62"),
    ("A/ES\u201010/1022", "A/ES-10/1022"),
    ("a/c.2/79/l.3", "A/C.2/79/L.3"),
    ("a/hrc/wg.6/34/ita/3", "A/HRC/WG.6/34/ITA/3"),
    ("e/cn.4/sub.2/1999/crp.1/corr.2", "E/CN.4/Sub.2/1999/CRP.1/Corr.2"),
    ("td/b/ex(70)/r.1", "TD/B/EX(70)/R.1"),
    ("A / 79 / PV.12", "A/79/PV.12"),
])
def test_normalise(raw: str, canonical: str) -> None:
    assert normalise(raw) == canonical


def test_same() -> None:
    assert same("S/RES/2768", "S/RES/2768 (2025)")
    assert same("s/res/2768(2025)", "S/RES/2768 (2025)")
    assert not same("S/RES/2768 (2024)", "S/RES/2768 (2025)")
    assert not same("S/RES/2768", "S/RES/2769")
    assert same("A/80/62*", "a/80/62")
    assert not same("A/80/62", "A/80/6")
    assert key("A/ES\u201310/1") == key("a/es-10/1")


def test_looks_like_symbol() -> None:
    assert looks_like_symbol("A/HRC/WG.6/34/ITA/3")
    assert looks_like_symbol("A/80/62*")
    assert looks_like_symbol("S/RES/2768 (2025)")
    assert not looks_like_symbol("HIV/AIDS")
    assert not looks_like_symbol("United Nations")
    assert not looks_like_symbol("A/79/716-S/2025/18")  # a joint symbol is two symbols
    assert not looks_like_symbol("E/2023/1.")


def test_find_symbols_in_body_text() -> None:
    text = ("Near East (UNRWA) (A/79/710-S/2024/940). See A/79/684–S/2024/892, HIV/AIDS, "
            "resolution 2216 (2015), S/RES/2216 (2015); ** E/2023/1. and TD/B/EX(70)/R.1, A/RES/S-8/1, "
            "again A/79/710, the 2021-2025 group, GE.25-00925.")
    assert find_symbols(text) == [
        "A/79/710", "S/2024/940", "A/79/684", "S/2024/892", "S/RES/2216 (2015)", "E/2023/1",
        "TD/B/EX(70)/R.1", "A/RES/S-8/1",
    ]


def test_find_symbols_none() -> None:
    assert find_symbols("The document you are looking for does not exist. TCP/IP and/or N/A.") == []


# --------------------------------------------------------------------------- properties

_PREFIX = st.sampled_from(["A", "S", "E", "TD", "UNEP", "A/HRC", "E/CN.6", "A/C.2", "A/AC.292", "ST/SGB"])
_COMPONENT = st.one_of(
    st.integers(1, 2099).map(str),
    st.sampled_from(["RES", "ES-10", "S-8", "L.3", "Add.1", "Rev.2", "Corr.1", "WG.6", "EX(70)",
                     "CRP.1", "PV.12", "INF", "Sub.2", "R.1", "ITA"]),
)
SYMBOLS = st.builds(
    lambda p, cs, n: "/".join([p, *cs, n]), _PREFIX, st.lists(_COMPONENT, max_size=4), st.integers(1, 999).map(str),
)
_SEPARATOR = st.builds(
    lambda star, left, dash, right: star + left + dash + right,
    st.sampled_from(["", "*"]), st.sampled_from(["", " "]), st.sampled_from([*DASHES, "\n"]),
    st.sampled_from(["", " ", "\n"]),
)


@given(st.one_of(SYMBOLS, st.text()))
def test_normalise_is_idempotent(s: str) -> None:
    assert normalise(normalise(s)) == normalise(s)


@given(st.lists(SYMBOLS, min_size=1, max_size=4), st.data())
def test_split_joint_returns_every_part(parts: list[str], data: st.DataObject) -> None:
    joint = parts[0]
    for part in parts[1:]:
        joint += data.draw(_SEPARATOR) + part
    got = split_joint(joint)
    assert [normalise(p) for p in got] == [normalise(p) for p in parts]


def _disguise(symbol: str, data: st.DataObject) -> str:
    """The same symbol as a careless citation might print it."""
    out = []
    for ch in symbol:
        ch = data.draw(st.sampled_from([ch.lower(), ch.upper()]))
        if ch == "-":
            ch = data.draw(st.sampled_from(["-", "\u2010", "\u2011"]))
        out.append(ch + data.draw(st.sampled_from(["", "", " "])))
    return "".join(out) + data.draw(st.sampled_from(["", "*", "**"]))


@given(SYMBOLS, st.data())
def test_same_ignores_case_dash_asterisk_spacing(symbol: str, data: st.DataObject) -> None:
    assert same(symbol, _disguise(symbol, data))


@given(SYMBOLS)
def test_found_in_text_as_written(symbol: str) -> None:
    assert find_symbols(f"as stated in document {symbol}, paragraph 3") == [normalise(symbol)]


# --------------------------------------------------------------------------- grammar: parse / render

from dataclasses import replace  # noqa: E402

from linkwatch.un.symbols import SERIES_TYPES as SERIES  # noqa: E402
from linkwatch.un.symbols import (  # noqa: E402
    Symbol, find_symbol_groups, is_successor, parse, parse_joint, render,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("A/79/62", Symbol("A", session="79", number="62")),
    ("A/C.2/79/L.3", Symbol("A", ("C.2",), "L", "79", "3")),
    ("E/CN.16/2024/2", Symbol("E", ("CN.16",), None, "2024", "2")),
    ("A/HRC/55/L.1", Symbol("A", ("HRC",), "L", "55", "1")),
    ("TD/B/73/5", Symbol("TD", ("B",), None, "73", "5")),
    ("TD/B/EX(70)/R.1", Symbol("TD", ("B",), "R", "EX(70)", "1")),
    ("A/AC.292/2024/3", Symbol("A", ("AC.292",), None, "2024", "3")),
    ("UNCTAD/DITC/2024/1", Symbol("UNCTAD", ("DITC",), None, "2024", "1")),
    ("ST/SGB/2019/8", Symbol("ST", (), "SGB", "2019", "8")),
    ("A/RES/78/132", Symbol("A", (), "RES", "78", "132")),
    ("E/RES/2023/3", Symbol("E", (), "RES", "2023", "3")),
    ("A/79/PV.12", Symbol("A", (), "PV", "79", "12")),
    ("S/PV.9876", Symbol("S", (), "PV", None, "9876")),
    ("E/CN.16/2024/CRP.1", Symbol("E", ("CN.16",), "CRP", "2024", "1")),
    ("A/INF/79/1", Symbol("A", (), "INF", "79", "1")),
    ("E/2025/15/Add.1/Rev.1", Symbol("E", (), None, "2025", "15", ("Add.1", "Rev.1"))),
    ("TD/B/WP/343/Add.2", Symbol("TD", ("B", "WP"), None, None, "343", ("Add.2",))),
    ("S/RES/2768 (2025)", Symbol("S", (), "RES", None, "2768", part="2025")),
    ("A/80/15 (Part I)", Symbol("A", (), None, "80", "15", part="Part I")),
    ("A/RES/1625(XVI)", Symbol("A", (), "RES", None, "1625", part="XVI")),
    ("A/RES/S-8/1", Symbol("A", (), "RES", "S-8", "1")),
    ("A/ES-10/1022", Symbol("A", (), None, "ES-10", "1022")),
    ("A/80/62*", Symbol("A", (), None, "80", "62", reissued=True)),
    ("A/HRC/WG.6/34/ITA/3", Symbol("A", ("HRC", "WG.6"), None, "34", "ITA/3")),
])
def test_parse(text: str, expected: Symbol) -> None:
    assert parse(text) == expected
    assert render(expected) == text  # these are all written in canonical form


@pytest.mark.parametrize("text", ["HIV/AIDS", "United Nations", "A", "A/", "/79/62", "A/79//62", "TCP/IP",
                                  "A/79/62 (note: see)", "12/34"])
def test_parse_rejects_non_symbols(text: str) -> None:
    assert parse(text) is None


@pytest.mark.parametrize(("sloppy", "canonical"), [
    ("a/80/15(part i)", "A/80/15 (Part I)"),
    ("A/80/15  ( Part  I )", "A/80/15 (Part I)"),
    ("a/res/1625 (xvi)", "A/RES/1625(XVI)"),
    ("A / RES / 78 / 132 *", "A/RES/78/132"),
    ("td/b/ex(70)/r.1", "TD/B/EX(70)/R.1"),
    ("E/2025/15/ADD.1/REV.1", "E/2025/15/Add.1/Rev.1"),
])
def test_normalise_through_the_grammar(sloppy: str, canonical: str) -> None:
    assert normalise(sloppy) == canonical
    assert same(sloppy, canonical)


def test_comparison_rules() -> None:
    assert same("A/80/15 (Part I)", "a/80/15(PART I)")
    assert not same("A/80/15 (Part I)", "A/80/15 (Part II)")
    assert same("A/RES/S\u20138/1", "a/res/s-8/1*")
    assert not same("A/79/62", "A/79/62/Add.1")


def test_parse_joint() -> None:
    assert [render(p) for p in parse_joint("A/80/62*−E/2025/12*")] == ["A/80/62*", "E/2025/12*"]
    assert [p.organ for p in parse_joint("A/79/716-S/2025/18")] == ["A", "S"]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("A/79/62–E/2024/3", "A/80/62–E/2025/12", True),  # the WSIS report, 2024 → 2025
    ("A/79/62", "A/80/62*", True),
    ("E/2024/3", "E/2025/3", True),
    ("E/CN.16/2024/2", "E/CN.16/2025/2", True),
    ("A/79/62/Add.1", "A/80/62/Add.1", True),
    ("A/80/62", "A/79/62", False),  # earlier, not later
    ("A/79/62", "A/79/62", False),  # the same document
    ("A/79/62", "A/80/63", False),  # another report
    ("E/2024/3", "E/2025/12", False),  # the E part alone changed number
    ("A/79/62", "A/2080/62", False),  # a session and a year are different counters
    ("A/C.2/79/L.3", "A/C.3/80/L.3", False),  # another committee
    ("A/RES/S-8/1", "A/RES/S-9/1", False),  # special sessions are not editions
    ("not a symbol", "A/80/62", False),
])
def test_is_successor(old: str, new: str, expected: bool) -> None:
    assert is_successor(old, new) is expected


def test_find_symbol_groups_keeps_joint_symbols_together() -> None:
    text = "Report (A/79/62 – E/2024/3), and A/77/62-E/2022/8 “Progress”, S/RES/2768 (2025) and A/RES/78/132."
    assert [g for g, _ in find_symbol_groups(text)] == [
        ["A/79/62", "E/2024/3"], ["A/77/62", "E/2022/8"], ["S/RES/2768 (2025)"], ["A/RES/78/132"]]
    assert find_symbol_groups("see A/80/15 (Part I).") == [(["A/80/15 (Part I)"], 4)]


# --------------------------------------------------------------------------- grammar properties

_BODIES = st.lists(st.sampled_from(["C.2", "CN.16", "HRC", "WG.6", "B", "AC.292", "Sub.2", "DITC"]), max_size=2)
_SESSION = st.one_of(st.none(), st.integers(1, 99).map(str), st.integers(1946, 2099).map(str),
                     st.sampled_from(["S-8", "ES-10", "EX(70)"]))
_MODS = st.lists(st.sampled_from(["Add.1", "Add.12", "Corr.1", "Rev.2", "Amend.1"]), max_size=3)
_PART = st.one_of(st.none(), st.sampled_from(["2025", "Part I", "Part IV", "XVI"]))


@st.composite
def canonical_symbols(draw: st.DrawFn) -> Symbol:
    """Any Symbol the grammar can express, in canonical form."""
    session = draw(_SESSION)
    kind = draw(st.sampled_from(["plain", "series", "numbered"]))
    doc_type = {"plain": None, "series": draw(st.sampled_from(sorted(SERIES))),
                "numbered": draw(st.sampled_from(["L", "PV", "CRP", "R", "SR"]))}[kind]
    return Symbol(draw(st.sampled_from(["A", "S", "E", "ST", "TD", "UNCTAD"])), tuple(draw(_BODIES)), doc_type,
                  session, str(draw(st.integers(1, 9999))), tuple(draw(_MODS)), draw(_PART), draw(st.booleans()))


@given(canonical_symbols())
def test_parse_render_round_trip(symbol: Symbol) -> None:
    assert parse(render(symbol)) == symbol


@given(canonical_symbols(), st.data())
def test_render_parse_round_trips_sloppy_writing(symbol: Symbol, data: st.DataObject) -> None:
    written = _disguise(render(replace(symbol, reissued=False)), data)
    parsed = parse(written)
    assert parsed is not None and parsed.reissued == ("*" in written)
    assert render(replace(parsed, reissued=False)) == normalise(written) == render(replace(symbol, reissued=False))


@given(st.lists(canonical_symbols(), min_size=1, max_size=4), st.data())
def test_joint_splitting_never_loses_a_part(parts: list[Symbol], data: st.DataObject) -> None:
    texts = [render(p) for p in parts]
    joint = texts[0]
    for text in texts[1:]:
        joint += data.draw(_SEPARATOR) + text
    assert [normalise(p) for p in split_joint(joint)] == [normalise(t) for t in texts]
    assert [replace(p, reissued=False) for p in parse_joint(joint)] == [replace(p, reissued=False) for p in parts]


@given(canonical_symbols())
def test_normalise_idempotent_on_symbols(symbol: Symbol) -> None:
    once = normalise(render(symbol))
    assert normalise(once) == once and "*" not in once


# --------------------------------------------------------------------------- series the grammar once refused

from linkwatch.un.symbols import ocr_candidate  # noqa: E402


@pytest.mark.parametrize(("text", "expected"), [
    # A body with a number: the Group of Experts on Geographical Names.
    ("GEGN.2/2025/35", Symbol("GEGN.2", session="2025", number="35")),
    # A hyphenated joint body (UNDP/UNFPA segment of the Executive Board): one symbol, not two.
    ("DP-FPA/2025/1", Symbol("DP-FPA", session="2025", number="1")),
    ("CEB/2025/4", Symbol("CEB", session="2025", number="4")),
    ("JIU/REP/2025/1", Symbol("JIU", ("REP",), None, "2025", "1")),
    ("JIU/NOTE/2022/1/Rev.1", Symbol("JIU", ("NOTE",), None, "2022", "1", ("Rev.1",))),
    # A part's addendum, written after the part or inside its parentheses.
    ("DP/FPA/2025/4 (Part I)/Add.1", Symbol("DP", ("FPA",), None, "2025", "4", ("Add.1",), "Part I")),
])
def test_parse_series_the_grammar_did_not_know(text: str, expected: Symbol) -> None:
    assert parse(text) == expected
    assert render(expected) == text
    assert looks_like_symbol(text)


def test_part_inside_parentheses_with_its_addendum() -> None:
    assert normalise("DP/FPA/2025/4 (Part I/Add.1)") == "DP/FPA/2025/4 (Part I)/Add.1"
    assert same("DP/FPA/2025/4 (Part I/Add.1)", "DP/FPA/2025/4 (Part I)/Add.1")
    assert not same("DP/FPA/2025/4 (Part I)/Add.1", "DP/FPA/2025/4 (Part I)")
    assert find_symbols("(DP/FPA/2025/4 (Part I)/Add.1), which") == ["DP/FPA/2025/4 (Part I)/Add.1"]


def test_joint_body_is_not_split_but_joint_symbols_are() -> None:
    assert split_joint("DP-FPA/2025/1") == ["DP-FPA/2025/1"]
    assert split_joint("DP/2025/1-DP-FPA/2025/1") == ["DP/2025/1", "DP-FPA/2025/1"]
    assert split_joint("A/79/716-S/2025/18") == ["A/79/716", "S/2025/18"]
    assert find_symbols("the joint segment (DP-FPA/2025/1) and GEGN.2/2025/35") == ["DP-FPA/2025/1", "GEGN.2/2025/35"]


@pytest.mark.parametrize(("printed", "canonical"), [
    ("E/ICEF/672(Première partie)", "E/ICEF/672 (Part I)"),
    ("E/ICEF/672 (Deuxième partie)", "E/ICEF/672 (Part II)"),
    ("E/ICEF/672 (Premiere partie)", "E/ICEF/672 (Part I)"),
    ("A/80/15 (Segunda parte)", "A/80/15 (Part II)"),
])
def test_part_in_words_is_the_same_part(printed: str, canonical: str) -> None:
    assert looks_like_symbol(printed)
    assert normalise(printed) == canonical
    assert same(printed, canonical)


@pytest.mark.parametrize(("read", "candidate"), [
    ("A/39/36I", "A/39/361"),
    ("A./47/435", "A/47/435"),
    ("E/CN.4/l09", "E/CN.4/109"),
    ("A/4O/12", "A/40/12"),
])
def test_ocr_near_miss_names_its_candidate(read: str, candidate: str) -> None:
    assert ocr_candidate(read) == candidate


@pytest.mark.parametrize("text", ["A/39/361", "A/HRC/WG.6/34/ITA/3", "E/2025/15/Add.1/Rev.1", "S/PV.9876",
                                  "A/C.2/79/L.3", "TD/B/EX(70)/R.1", "not a symbol"])
def test_real_symbols_are_not_ocr_near_misses(text: str) -> None:
    assert ocr_candidate(text) is None
