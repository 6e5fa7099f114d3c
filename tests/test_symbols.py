"""UN document symbol grammar: split_joint, normalise, key, same, find_symbols."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkwatch.symbols import DASHES, find_symbols, key, looks_like_symbol, normalise, same, split_joint


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
