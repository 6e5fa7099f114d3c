"""Inspection of real UN PDFs through real sandboxed worker processes, plus hostile files."""
from __future__ import annotations

import csv
import os
import shutil
import signal
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

from linkwatch.un import symbols as unsymbols
from linkwatch.pdf.inspect import (
    Inspection, InspectError, Inspector, detect_language, inspect_files, parse_page1, title_key,
)

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
TRUTH = list(csv.DictReader((PDFS / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))

# Every Inspector test runs on both page-1 engines (see tests/test_inspect_engines.py).
_needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None and os.environ.get("LINKWATCH_REQUIRE_POPPLER") != "1",
    reason="pdftotext (poppler-utils) is not installed")
ENGINES = ["pypdf", pytest.param("poppler", marks=_needs_poppler)]


@pytest.fixture(scope="module", params=ENGINES)
def inspector(request: pytest.FixtureRequest) -> Iterator[Inspector]:
    with Inspector(workers=2, timeout=30, engine=request.param) as ins:
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


@pytest.mark.parametrize("engine", ENGINES)
def test_timeout_kills_and_replaces_worker(engine: str) -> None:
    with Inspector(workers=1, timeout=30, engine=engine) as ins:
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


@pytest.mark.parametrize("engine", ENGINES)
def test_memory_limit(tmp_path: Path, engine: str) -> None:
    # The interpreter with pypdf already maps ~45 MB, so 70 MiB more cannot fit under 96 MiB.
    # (poppler engine: pypdf decodes page 1's content streams before pdftotext's text is used.)
    with Inspector(workers=1, timeout=30, memory_mb=96, engine=engine) as ins:
        assert ins.inspect(_flate_bomb(tmp_path / "bomb.pdf", 70)).error == "memory"
        assert ins.inspect(PDFS / "TD_B_43_6.en.pdf").symbols == ["TD/B/43/6"]


def test_inspect_files() -> None:
    [(name, got)] = inspect_files([PDFS / "TD_B_43_6.en.pdf"])
    assert name.endswith("TD_B_43_6.en.pdf") and got.symbols == ["TD/B/43/6"]


# --------------------------------------------------------------------------- synthetic page 1s, six languages
# No real French, Arabic or Chinese fixture exists: these page-1 texts imitate what pypdf extracts
# from the UN template (masthead line, distribution block, indented title and subtitle).

WSIS_TITLES = {
    "fr": "Progrès accomplis dans la mise en œuvre et le suivi des textes issus du Sommet mondial sur la "
          "société de l’information aux niveaux régional et international",
    "es": "Progresos realizados en la aplicación y el seguimiento de los resultados de la Cumbre Mundial sobre "
          "la Sociedad de la Información en los planos regional e internacional",
    "ru": "Прогресс в осуществлении и реализации решений Всемирной встречи на высшем уровне по вопросам "
          "информационного общества на региональном и международном уровнях",
    "ar": "التقدم المحرز في تنفيذ ومتابعة نتائج القمة العالمية لمجتمع المعلومات على الصعيدين الإقليمي والدولي",
    "zh": "在区域和国际两级执行和落实信息社会世界峰会成果的进展情况",
}
MASTHEADS = {"fr": "Nations Unies", "es": "Naciones Unidas", "ru": "Организация Объединенных Наций",
             "ar": "الأمم المتحدة", "zh": "联合国"}
SUBTITLES = {"fr": "Rapport du Secrétaire général", "es": "Informe del Secretario General",
             "ru": "Доклад Генерального секретаря", "ar": "تقرير الأمين العام", "zh": "秘书长的报告"}
BODIES = {
    "fr": "Le présent rapport a été établi pour la Commission de la science et de la technique au service du "
          "développement et décrit les progrès accomplis dans la mise en œuvre des textes issus du Sommet.",
    "es": "El presente informe se ha preparado para la Comisión de Ciencia y Tecnología para el Desarrollo y "
          "describe los progresos realizados en la aplicación de los resultados de la Cumbre.",
    "ru": "Настоящий доклад подготовлен для Комиссии по науке и технике в целях развития.",
    "ar": "أعد هذا التقرير للجنة تسخير العلم والتكنولوجيا لأغراض التنمية ويصف التقدم المحرز.",
    "zh": "本报告是为科学和技术促进发展委员会编写的，介绍了执行峰会成果的进展情况。",
}


def _page1(lang: str, symbol_text: str = "A/79/62–E/2024/3", rtl: bool = False, subtitle: str | None = None,
           title_unindented_subtitle: bool = False) -> str:
    masthead = f"{symbol_text} {MASTHEADS[lang]}" if rtl else f"{MASTHEADS[lang]} {symbol_text}"
    sub = subtitle or SUBTITLES[lang]
    return "\n".join([
        masthead, "Distr.: General", "12 February 2024", "", "Original: English", "",
        f"  {WSIS_TITLES[lang]}", sub if title_unindented_subtitle else f"  {sub}", "", BODIES[lang],
    ])


@pytest.mark.parametrize("lang", ["fr", "es", "ru", "ar", "zh"])
def test_mastheads_in_every_official_language(lang: str) -> None:
    ins = parse_page1(_page1(lang))
    assert ins.symbols == ["A/79/62", "E/2024/3"]
    assert ins.symbol_source == "masthead"
    assert ins.lang == lang
    assert ins.title == WSIS_TITLES[lang]


@pytest.mark.parametrize("lang", ["ar", "zh", "ru"])
def test_subtitle_is_not_swept_into_the_title(lang: str) -> None:
    assert parse_page1(_page1(lang, title_unindented_subtitle=True)).title == WSIS_TITLES[lang]


def test_arabic_masthead_extracted_right_to_left() -> None:
    ins = parse_page1(_page1("ar", rtl=True))
    assert ins.symbols == ["A/79/62", "E/2024/3"] and ins.lang == "ar"


def test_french_reissue_and_asterisks() -> None:
    page = _page1("fr", "A/79/62*–E/2024/3*") + "\n* Nouveau tirage pour raisons techniques (4 mars 2024)."
    ins = parse_page1(page)
    assert ins.symbols == ["A/79/62", "E/2024/3"] and ins.reissued


@pytest.mark.parametrize(("lang", "word"), [("en", "Corrigendum"), ("fr", "Rectificatif"), ("es", "Corrección"),
                                            ("ru", "Исправление"), ("ar", "تصويب"), ("zh", "更正")])
def test_corrigenda(lang: str, word: str) -> None:
    masthead = "United Nations" if lang == "en" else MASTHEADS[lang]
    title = "Progress made in the implementation" if lang == "en" else WSIS_TITLES[lang]
    page = "\n".join([f"{masthead} A/79/62/Corr.1–E/2024/3/Corr.1", "Distr.: General", "",
                      f"  {title}", f"  {word}", "", "1. Paragraph 3, line 2"])
    ins = parse_page1(page)
    assert ins.symbols == ["A/79/62/Corr.1", "E/2024/3/Corr.1"]
    assert ins.title == title


@pytest.mark.parametrize(("lang", "word"), [("fr", "Additif"), ("zh", "增编"), ("ar", "إضافة")])
def test_addenda(lang: str, word: str) -> None:
    page = "\n".join([f"{MASTHEADS[lang]} E/2025/15/Add.1/Rev.1", "Distr.: General", "",
                      f"  {word}", f"  {WSIS_TITLES[lang]}", "", BODIES[lang]])
    ins = parse_page1(page)
    assert ins.symbols == ["E/2025/15/Add.1/Rev.1"]
    assert ins.title == WSIS_TITLES[lang]  # the "Addendum" heading is skipped
    assert ins.lang == lang


def test_script_detection() -> None:
    assert detect_language("الأمم المتحدة A/79/62 الجمعية العامة") == "ar"
    assert detect_language("联合国 A/79/62 大会 经济及社会理事会") == "zh"
    # the Latin distribution block of a Chinese page 1 does not outweigh its Han text
    assert detect_language("联合国 A/79/62–E/2024/3\n大会\n经济及社会理事会\nDistr.: General\n12 February 2024\n"
                           "Chinese\nOriginal: English\n在区域和国际两级执行和落实信息社会世界峰会成果的进展情况") == "zh"
    assert detect_language("Nations Unies A/79/62 Assemblée générale Distr. générale, le rapport et les") == "fr"
