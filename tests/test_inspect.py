"""Inspection of real UN PDFs through real sandboxed worker processes, plus hostile files."""
from __future__ import annotations

import csv
import os
import signal
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

from linkwatch import symbols as unsymbols
from linkwatch.inspect import (
    Inspection, InspectError, Inspector, detect_language, inspect_files, parse_page1, title_key,
)

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
TRUTH = list(csv.DictReader((PDFS / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))


@pytest.fixture(scope="module")
def inspector() -> Iterator[Inspector]:
    with Inspector(workers=2, timeout=30) as ins:
        yield ins


@pytest.mark.parametrize("row", TRUTH, ids=[r["file"] for r in TRUTH])
def test_fixture_matches_manifest(inspector: Inspector, row: dict[str, str]) -> None:
    got = inspector.inspect(PDFS / row["file"])
    assert got.error is None
    assert set(got.symbols) == {unsymbols.normalise(s) for s in row["symbols_on_page1"].split(";") if s.strip()}
    assert got.lang == row["lang"]
    assert got.pages == int(row["pages"])
    if row["title"]:
        assert title_key(got.title or "") == title_key(row["title"])


def test_placeholder_and_reissue_flags(inspector: Inspector) -> None:
    assert inspector.inspect(PDFS / "A_78_1.en.pdf").placeholder
    assert inspector.inspect(PDFS / "A_80_62.en.pdf").reissued
    assert not inspector.inspect(PDFS / "A_RES_78_323.en.pdf").reissued
    assert not inspector.inspect(PDFS / "A_HRC_WG.6_34_ITA_3-RU.pdf").reissued  # the '*' marks the title


def test_cited_symbols_are_not_own() -> None:
    page1 = (" United Nations  A/79/716-S/2025/18 \nGeneral Assembly\n\n  A letter to the President \n\n"
             " I refer to the letters (A/79/710-S/2024/940).\n  [without reference to a Main Committee (A/73/L.3)]\n")
    assert parse_page1(page1).symbols == ["A/79/716", "S/2025/18"]


def test_stacked_joint_masthead() -> None:
    page1 = "United Nations A/79/62–\nE/2024/3\nGeneral Assembly\n"
    assert parse_page1(page1).symbols == ["A/79/62", "E/2024/3"]


def test_metadata_title_is_only_a_fallback() -> None:
    body = "Совет по правам человека\n  Резюме материалов по Италии\n"
    fallback = parse_page1(body, meta_title="A/HRC/WG.6/34/ITA/3")
    assert fallback.symbols == ["A/HRC/WG.6/34/ITA/3"] and fallback.symbol_source == "metadata"
    assert parse_page1(body, meta_title="Microsoft Word - report.docx").symbols == []
    masthead = parse_page1("United Nations  A/79/1\n" + body, meta_title="A/HRC/WG.6/34/ITA/3")
    assert masthead.symbols == ["A/79/1"]


def test_language_from_text_not_original_line() -> None:
    assert detect_language("Distr. general\nEspañol\nOriginal: inglés\nDocumento de la Secretaría sobre los "
                           "puntos de contacto y las capacidades del grupo") == "es"
    assert detect_language("Original : anglais. Rapport du Secrétaire général sur les activités de la "
                           "Commission et des organes subsidiaires") == "fr"
    assert detect_language("Доклад Генерального секретаря, Original: English") == "ru"
    assert detect_language("秘书长的报告 Original: English") == "zh"
    assert detect_language("تقرير الأمين العام Original: English") == "ar"


def test_to_dict_round_trips(inspector: Inspector) -> None:
    got = inspector.inspect(PDFS / "S_RES_2768_2025.en.pdf")
    assert Inspection(**got.to_dict()) == got
    assert got.title == "Resolution 2768 (2025)"


def test_concurrent_callers(inspector: Inspector) -> None:
    files = [PDFS / r["file"] for r in TRUTH] * 2
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(inspector.inspect, files))
    by_file = {f.name: r for f, r in zip(files, results)}
    assert all(r.error is None for r in results)
    assert [r.symbols for r in results] == [by_file[f.name].symbols for f in files]
    assert len(inspector.pids()) <= 2


def test_extract_text(inspector: Inspector) -> None:
    text = inspector.extract_text(PDFS / "A_80_62.en.pdf", max_pages=2)
    assert text.count("\f") == 1 and "A/80/62" in text


# --------------------------------------------------------------------------- hostile files


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_truncated_pdf_is_malformed(inspector: Inspector, tmp_path: Path) -> None:
    data = (PDFS / "A_79_716.en.pdf").read_bytes()
    got = inspector.inspect(_write(tmp_path / "cut.pdf", data[: len(data) // 2]))
    assert got.error and got.error.startswith("malformed: ")


def test_non_pdf_is_malformed(inspector: Inspector, tmp_path: Path) -> None:
    html = _write(tmp_path / "page.pdf", b"<!doctype html><title>Just a moment...</title>")
    assert inspector.inspect(html).error.startswith("malformed: ")
    assert inspector.inspect(_write(tmp_path / "empty.pdf", b"")).error.startswith("malformed: ")
    assert inspector.inspect(tmp_path / "missing.pdf").error.startswith("malformed: ")


def _encrypted(path: Path, user_password: str) -> Path:
    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    w.write(path)
    return path


def test_encrypted(inspector: Inspector, tmp_path: Path) -> None:
    assert inspector.inspect(_encrypted(tmp_path / "locked.pdf", "secret")).error == "encrypted"
    with pytest.raises(InspectError) as raised:
        inspector.extract_text(tmp_path / "locked.pdf")
    assert raised.value.kind == "encrypted"
    # Encrypted only to set permissions (empty user password): readable.
    opened = inspector.inspect(_encrypted(tmp_path / "permissions.pdf", ""))
    assert opened.error is None and opened.pages == 1


def test_timeout_kills_and_replaces_worker() -> None:
    with Inspector(workers=1, timeout=30) as ins:
        assert ins.inspect(PDFS / "TD_B_43_6.en.pdf").error is None
        [old] = ins.pids()
        # 1 ms cannot open a 400 kB PDF: an honest timeout, not a stub.
        assert ins.inspect(PDFS / "A_80_62.en.pdf", timeout=0.001).error == "timeout"
        with pytest.raises(ProcessLookupError):
            os.kill(old, 0)  # killed and reaped
        again = ins.inspect(PDFS / "A_80_62.en.pdf")
        assert again.error is None and again.symbols == ["A/80/62", "E/2025/12"]
        assert ins.pids() != [old]


def test_worker_killed_while_idle_is_replaced() -> None:
    with Inspector(workers=1) as ins:
        assert ins.inspect(PDFS / "TD_B_43_6.en.pdf").error is None
        [old] = ins.pids()
        os.kill(old, signal.SIGKILL)
        assert ins.inspect(PDFS / "TD_B_43_6.en.pdf").symbols == ["TD/B/43/6"]
        assert ins.pids() != [old]


def _flate_bomb(path: Path, mib: int) -> Path:
    """One page whose tiny content stream inflates to ``mib`` MiB (under pypdf's own 75 MB cap)."""
    w = PdfWriter()
    page = w.add_blank_page(200, 200)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    fonts = DictionaryObject({NameObject("/F1"): font})
    # Without a font resource pypdf skips the content stream entirely and no bomb goes off.
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    stream = StreamObject()
    stream._data = zlib.compress(b"BT /F1 12 Tf (x) Tj ET" + b" " * (mib << 20), 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = w._add_object(stream)
    w.write(path)
    return path


def test_memory_limit(tmp_path: Path) -> None:
    # The interpreter with pypdf already maps ~45 MB, so 70 MiB more cannot fit under 96 MiB.
    with Inspector(workers=1, timeout=30, memory_mb=96) as ins:
        assert ins.inspect(_flate_bomb(tmp_path / "bomb.pdf", 70)).error == "memory"
        assert ins.inspect(PDFS / "TD_B_43_6.en.pdf").symbols == ["TD/B/43/6"]


def test_inspect_files() -> None:
    [(name, got)] = inspect_files([PDFS / "TD_B_43_6.en.pdf"])
    assert name.endswith("TD_B_43_6.en.pdf") and got.symbols == ["TD/B/43/6"]
