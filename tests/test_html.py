"""The HTML status page: self-contained, escaped, correct counts and rows, and it works in a real browser.

The browser tests run Debian's headless Chromium (skipped, with the reason, where no Chromium is
installed; ``.ci/run`` installs it and sets ``LINKWATCH_REQUIRE_BROWSER=1`` so CI fails instead of
skipping). What they prove, and how:

- the DOM after the page's script ran: rows, counts, filtering, sorting, the URL-fragment state;
- that nothing leaves the page: Chromium sends *every* request to a recording proxy (loopback
  included), and the page's own network events (DevTools protocol) list only the page itself.
  Requests Chromium makes for itself (time sync, component updates) also reach the proxy; the test
  shows they never concern a host from the report, and that no page-initiated request exists;
- that the Content-Security-Policy blocks nothing of ours (no violation events) while the
  hostile strings in the report stay text;
- layout: on a 375 px phone viewport nothing overflows sideways; print media hides the controls
  and the page prints to PDF.
"""
from __future__ import annotations

import base64
import os
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import Browser, RecordingProxy, find_chromium
from httpserver import Content, LocalServer

from linkwatch.compare import Finding
from linkwatch.report.formats import render
from linkwatch.report.formats.html import CSP, last_change
from linkwatch.report import DocumentResult, Report

PDFS = Path(__file__).parent / "fixtures" / "pdfs"
SHA = "570a8817676ed84ac65aa1a3538559077171ff9c52261aa683f0c6a80f38f73a"
BLOB = f"blobs/sha256/{SHA[:2]}/{SHA[2:4]}/{SHA}"
CANARY = "canary.test"  # any request naming this host would be the page leaking
HOSTILE = (f'"><img src="http://{CANARY}/title.png"><script src="http://{CANARY}/x.js"></script>'
           f"</td></tr><style>@import url(http://{CANARY}/s.css)</style>\x1b[31m red \u202e")


def tl(*statuses: str) -> list[dict[str, str]]:
    return [{"at": f"2025-05-{i + 1:02d}T02:00:00Z", "status": s} for i, s in enumerate(statuses)]


def make_report() -> Report:
    """Five documents: ok with history, broken after being ok, wrong-document, blocked, hostile."""
    base = dict(manifest="manifests/cstd-wsis.toml", kind="pdf", checked_at="2025-06-01T02:00:00Z")
    docs = [
        DocumentResult(id="a-80-62", line=3, expected_symbols=["A/80/62", "E/2025/12"], expected_title="Progress made",
                       url="https://documents.un.org/doc/a80.pdf", status="ok", severity="warning",
                       symbols=["A/80/62", "E/2025/12"], title="Progress made in the implementation", lang="en",
                       http_status=200, sha256=SHA,
                       findings=[Finding("content-changed", "warning", "sha256 0bd1… → 570a… (size 401 → 413)")],
                       archived_sha256=SHA, archived_at="2025-06-01T02:00:00Z", archived_path=BLOB,
                       timeline=tl(*["ok"] * 12), **base),
        DocumentResult(id="res-73-8", line=9, expected_symbols=["A/RES/73/8"], expected_title="Necessity of ending",
                       url="https://example.org/A_RES_73_8.pdf", status="broken", severity="error", http_status=404,
                       findings=[Finding("broken", "error", "HTTP 404 Not Found"),
                                 Finding("gone", "error", "was ok on 2025-05-05T02:00:00Z, now broken")],
                       timeline=tl("ok", "ok", "ok", "ok", "ok", "broken"), **base),
        DocumentResult(id="e-2024-1", line=15, expected_symbols=["E/2024/1"], expected_title="Report",
                       url="https://undocs.org/E/2024/1", status="wrong-document", severity="error",
                       symbols=["A/AC.292/2024/3"], lang="es", http_status=200,
                       findings=[Finding("wrong-document", "error", "page 1 shows A/AC.292/2024/3, not E/2024/1 (es)")],
                       timeline=tl("wrong-document", "wrong-document"), **base),
        DocumentResult(id="blocked-one", line=21, expected_symbols=["A/78/1"], expected_title=None,
                       url="https://documents.un.org/b.pdf", status="blocked", severity="warning", http_status=202,
                       findings=[Finding("blocked", "warning", "bot challenge (HTTP 202)")],
                       timeline=tl("ok", "blocked"), **base),
        DocumentResult(id="hostile", line=27, expected_symbols=["A/1"], expected_title=HOSTILE,
                       url="javascript:fetch('http://canary.test/js-url')", status="ok", severity="warning",
                       symbols=["A/1"], title=HOSTILE, lang='en" onmouseover="x', http_status=200,
                       final_url=f"http://{CANARY}/final\x1b]8;;http://x\x07",
                       findings=[Finding("retitled", "warning", HOSTILE)],
                       archived_sha256=SHA, archived_at='2025"><img src=x>', archived_path="../../../etc/passwd",
                       timeline=[{"at": HOSTILE, "status": "ok\"><script>alert(1)</script>"}], **base),
    ]
    return Report(run_id=12, command="check", started_at="2025-06-01T02:00:00Z", finished_at="2025-06-01T02:00:09Z",
                  tool_version="0.1.0", manifests=["manifests/cstd-wsis.toml"], documents=docs)


class Page(HTMLParser):
    """Tags, attributes and text of a page, as a browser's tokenizer sees them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


@pytest.fixture
def report() -> Report:
    return make_report()


# -- the file itself ---------------------------------------------------------------------------------
def test_self_contained_nothing_to_fetch_and_strict_csp(report: Report) -> None:
    page = Page(render(report, "html"))
    tags = {t for t, _ in page.tags}
    assert not tags & {"img", "iframe", "object", "embed", "audio", "video", "source", "base", "form"}
    assert [a.get("rel") for a in page.all("link")] == ["icon"] and page.all("link")[0]["href"] == "data:,"
    scripts = page.all("script")
    assert len(scripts) == 1 and "src" not in scripts[0]
    assert all(not k.startswith("on") for _, attrs in page.tags for k in attrs)  # no inline event handlers
    assert "url(" not in render(report, "html").split("<style>")[1].split("</style>")[0]
    csp = next(a["content"] for a in page.all("meta") if a.get("http-equiv") == "Content-Security-Policy")
    assert csp == CSP and "default-src 'none'" in csp and "img-src data:" in csp and "unsafe" not in csp


def test_hostile_text_stays_text(report: Report) -> None:
    text = render(report, "html")
    page = Page(text)
    assert "\x1b" not in text and "\u202e" not in text
    assert "&lt;script src=&quot;http://canary.test/x.js&quot;&gt;" in text or \
        '&lt;script src="http://canary.test/x.js"&gt;' in text
    hrefs = [a.get("href") or "" for a in page.all("a")]
    assert not any(h.lower().startswith("javascript:") for h in hrefs)
    assert f"http://{CANARY}/final" in hrefs  # the OSC 8 escape was stripped; a link loads nothing
    assert not any("\x1b" in h or "\x07" in h for h in hrefs)
    # Statuses from a report file become CSS classes only from the fixed list.
    classes = " ".join(a.get("class") or "" for _, a in page.tags)
    assert "script" not in classes and "alert" not in classes
    assert [a.get("lang") for _, a in page.tags if "lang" in a] == ["en"]  # only <html lang>


def test_summary_counts_and_one_row_per_document(report: Report) -> None:
    page = Page(render(report, "html"))
    statuses = [a["data-status"] for a in page.all("tr") if "data-status" in a]
    assert statuses == ["broken", "wrong-document", "ok", "blocked", "ok"]  # errors, then warnings
    problems = [a["data-problem"] for a in page.all("tr") if "data-problem" in a]
    assert problems == ["1", "1", "1", "1", "1"]
    text = " ".join(page.text)
    assert "5 documents: 2 ok, 1 broken, 1 blocked, 1 wrong-document · 3 errors, 3 warnings" in text
    # One timeline mark per observation, coloured by status class (a dashed run per colour).
    assert _marks(page) == 12 + 6 + 2 + 2 + 1
    assert {a["class"] for a in page.all("path")} == {"s-good", "s-bad", "s-warn", "s-none"}


def _marks(page: Page) -> int:
    """Timeline marks drawn: a strip of n marks is 7n - 2 units wide (5 per mark, 2 between)."""
    return sum((int(a["viewbox"].split()[2]) + 2) // 7 for a in page.all("svg") if a.get("class") == "tl")


def test_heading_is_the_manifest_title_and_a_legend_explains_every_word(report: Report) -> None:
    from linkwatch.compare import DRIFTS
    from linkwatch.report.formats.html import FINDING_MEANING, STATUS_MEANING
    from linkwatch.report.model import REPORT_STATUSES

    titled = replace(report, title='CSTD WSIS: supporting documents <b>"')
    page = Page(render(titled, "html"))
    text = " ".join(page.text)
    assert 'CSTD WSIS: supporting documents <b>"' in text and "<b>" not in render(titled, "html").split("<h1>")[1][:200]
    assert set(STATUS_MEANING) == set(REPORT_STATUSES)
    assert set(DRIFTS) <= set(FINDING_MEANING)
    legend = render(report, "html").split('<details class="legend">')[1].split("</details>")[0]
    for word in [*STATUS_MEANING, *FINDING_MEANING]:
        assert f">{word}<" in legend, word


def test_a_page_of_10000_documents_keeps_one_page_of_rows_in_the_table_and_flat_memory(report: Report) -> None:
    import io
    import tracemalloc

    from linkwatch.report.formats import html

    docs = [replace(report.documents[i % 4], id=f"doc-{i:05d}") for i in range(10_000)]
    big = replace(report, documents=docs)
    stream = io.StringIO()
    tracemalloc.start()
    html.write(big, stream)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    text = stream.getvalue()
    assert peak - len(text) * 2 < 20 * 2**20, peak  # beyond the text itself: rows, not pages, at a time
    table, rest = text.split('<template id="more">')
    assert table.count("<tr data-status") == html.PAGE and rest.count("<tr data-status") == 10_000 - html.PAGE
    assert len(text.encode()) / 10_000 < 1500  # bytes per document (was ~5,000 with a node per mark)


def test_archived_copy_link_is_relative_to_the_output_and_robust(report: Report, tmp_path: Path) -> None:
    archive, out = tmp_path / "archive", tmp_path / "site" / "status.html"
    page = Page(render(report, "html", archive=archive, output=out))
    kept = [a for a in page.all("a") if a.get("class") == "kept"]
    assert [a["href"] for a in kept] == [f"../archive/{BLOB}"]  # the hostile ../../etc/passwd got none
    assert (out.parent / kept[0]["href"]).resolve() == (archive / BLOB).resolve()
    original = next(a for a in page.all("a") if a.get("href") == "https://documents.un.org/doc/a80.pdf")
    assert original["data-versionurl"] == f"../archive/{BLOB}"
    assert original["data-versiondate"] == "2025-06-01T02:00:00Z"
    # Without the archive folder there is nothing to link to.
    assert not [a for a in Page(render(report, "html")).all("a") if a.get("class") == "kept"]


def test_last_change_in_words(report: Report) -> None:
    ok, broken, wrong, blocked, _ = report.documents
    assert last_change(ok) == ("2025-06-01T02:00:00Z", "content-changed")
    assert last_change(broken) == ("2025-06-01T02:00:00Z", "gone")
    assert last_change(wrong) == (None, "unchanged in 2 checks since 2025-05-01")
    assert last_change(blocked) == ("2025-05-02T02:00:00Z", "ok → blocked")
    assert last_change(replace(blocked, timeline=[])) == (None, "first check")


def test_empty_report_renders(report: Report) -> None:
    text = render(replace(report, documents=[]), "html")
    assert "No documents." in text and text.endswith("</html>\n")


def test_cli_writes_the_page_from_a_real_run(server: LocalServer, tmp_path: Path) -> None:
    from linkwatch.cli import main

    url = server.route("/res.pdf", Content.file(PDFS / "A_RES_78_323.en.pdf", "application/pdf"))
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[document]]\nid = "res"\nsymbol = "A/RES/78/323"\nurl = "{url}"\n\n'
                        f'[[document]]\nid = "gone"\nurl = "{server.url("/gone.pdf")}"\n')
    out = tmp_path / "public" / "index.html"
    out.parent.mkdir()
    args = ["--archive", str(tmp_path / "a"), "--min-interval", "0", "--no-progress", "--format", "html",
            "--output", str(out)]
    assert main(["archive", str(manifest), *args]) == 1
    assert main(["archive", str(manifest), *args]) == 1
    page = Page(out.read_text(encoding="utf-8"))
    rows = {a["data-status"] for a in page.all("tr") if "data-status" in a}
    assert rows == {"ok", "broken"}
    kept = [a["href"] for a in page.all("a") if a.get("class") == "kept"]
    assert len(kept) == 1 and (out.parent / kept[0]).resolve().is_file()
    assert _marks(page) == 4  # two runs × two documents


# -- in a real browser ---------------------------------------------------------------------------------
CHROMIUM = find_chromium()
needs_browser = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("LINKWATCH_REQUIRE_BROWSER"),
    reason="no Chromium found (install Debian's 'chromium', or set LINKWATCH_CHROMIUM=/path/to/chrome)")
PAGE_URL = "http://linkwatch-status.test/status.html"


@pytest.fixture
def browser_page(report: Report, tmp_path: Path):
    """The page served through the recording proxy and opened in headless Chromium."""
    assert CHROMIUM, "LINKWATCH_REQUIRE_BROWSER is set but no Chromium was found"
    body = render(report, "html", archive=tmp_path / "archive", output=tmp_path / "status.html").encode()
    with RecordingProxy(PAGE_URL, body) as proxy, Browser(CHROMIUM, proxy=proxy.address) as b:
        b.call("Network.enable")
        b.call("Page.enable")
        b.call("Page.addScriptToEvaluateOnNewDocument", source=(
            "window.__csp = []; document.addEventListener('securitypolicyviolation', "
            "function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });"))
        yield b, proxy


def _goto(b: Browser, url: str) -> None:
    b.events.clear()
    b.call("Page.navigate", url=url)
    b.wait_for("Page.loadEventFired")
    assert b.evaluate("document.documentElement.getAttribute('data-ready')") == "1"  # the script ran


def _visible(b: Browser) -> list[str]:
    return b.evaluate("Array.from(document.querySelectorAll('#docs tbody tr'))"
                      ".filter(r => !r.hidden && getComputedStyle(r).display !== 'none')"
                      ".map(r => r.cells[1].querySelector('code').textContent)")


@needs_browser
def test_browser_renders_rows_counts_and_leaks_nothing(browser_page) -> None:
    b, proxy = browser_page
    _goto(b, PAGE_URL)
    assert _visible(b) == ["res-73-8", "e-2024-1", "a-80-62", "blocked-one", "hostile"]  # problems first
    assert b.evaluate("document.getElementById('shown').textContent") == "5 of 5 documents shown"
    counts = b.evaluate("Object.fromEntries(Array.from(document.querySelectorAll('.summary li.st'))"
                        ".map(li => [li.dataset.status, +li.querySelector('.n').textContent]))")
    assert counts == {"ok": 2, "broken": 1, "unreachable": 0, "blocked": 1, "wrong-type": 0,
                      "wrong-document": 1, "unverified": 0, "unchecked": 0}
    severities = b.evaluate("Array.from(document.querySelectorAll('.summary li.sv .n')).map(n => +n.textContent)")
    assert severities == [3, 3, 0]  # errors, warnings, info
    # The hostile strings are text: no element came from them, and the only script is ours.
    assert b.evaluate("document.querySelectorAll('img, iframe, object, embed, link[rel=stylesheet]').length") == 0
    assert b.evaluate("document.scripts.length") == 1
    assert HOSTILE.split("\x1b")[0] in b.evaluate("document.querySelector('tr[data-status] td.title').parentNode"
                                                  ".parentNode.lastElementChild.cells[3].textContent")
    # Our style and script are allowed by their hashes; nothing else was attempted and blocked.
    assert b.evaluate("window.__csp") == []
    assert b.evaluate("getComputedStyle(document.querySelector('.badge.t-bad')).borderRadius") != "0px"
    b.drain(0.5)
    requested = [e["params"]["request"]["url"] for e in b.events if e["method"] == "Network.requestWillBeSent"]
    assert requested == [PAGE_URL]
    assert proxy.requests.count(f"GET {PAGE_URL}") == 1
    assert not [r for r in proxy.requests if CANARY in r or "un.org" in r or "example.org" in r]
    assert [r for r in proxy.requests if "linkwatch-status.test" in r] == [f"GET {PAGE_URL}"]


@needs_browser
def test_browser_filter_sort_and_fragment_state(browser_page) -> None:
    b, _ = browser_page
    _goto(b, PAGE_URL + "#status=ok")  # a shared link opens filtered
    assert _visible(b) == ["a-80-62", "hostile"]
    assert b.evaluate("document.getElementById('shown').textContent") == "2 of 5 documents shown"
    b.evaluate("(() => { const s = document.getElementById('status'); s.value = '';"
               " s.dispatchEvent(new Event('change')); const q = document.getElementById('q');"
               " q.value = 'ac.292'; q.dispatchEvent(new Event('input')); })()")
    assert _visible(b) == ["e-2024-1"]
    assert b.evaluate("location.hash") == "#q=ac.292"
    b.evaluate("(() => { const q = document.getElementById('q'); q.value = '';"
               " q.dispatchEvent(new Event('input')); document.getElementById('problems').click(); })()")
    assert len(_visible(b)) == 5  # every document here has a warning or an error
    # Sort by document id (2nd column), then the other way round.
    b.evaluate("document.querySelectorAll('#docs thead th')[1].querySelector('button').click()")
    assert _visible(b) == ["a-80-62", "blocked-one", "e-2024-1", "hostile", "res-73-8"]
    b.evaluate("document.querySelectorAll('#docs thead th')[1].querySelector('button').click()")
    assert _visible(b) == ["res-73-8", "hostile", "e-2024-1", "blocked-one", "a-80-62"]
    assert b.evaluate("document.querySelectorAll('#docs thead th')[1].getAttribute('aria-sort')") == "descending"
    assert "sort=1" in b.evaluate("location.hash") and "dir=desc" in b.evaluate("location.hash")
    # Status sorts worst first.
    b.evaluate("document.querySelectorAll('#docs thead th')[0].querySelector('button').click()")
    assert _visible(b)[0] == "res-73-8" and _visible(b)[-2:] == ["a-80-62", "hostile"]


@needs_browser
def test_browser_phone_width_and_print(browser_page) -> None:
    b, _ = browser_page
    b.call("Emulation.setDeviceMetricsOverride", width=375, height=800, deviceScaleFactor=2, mobile=True)
    _goto(b, PAGE_URL)
    assert b.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    assert b.evaluate("getComputedStyle(document.querySelector('#docs tbody tr')).display") == "block"
    assert b.evaluate("getComputedStyle(document.querySelector('th.nosort')).display") == "none"
    b.call("Emulation.clearDeviceMetricsOverride")
    b.call("Emulation.setEmulatedMedia", media="print")
    assert b.evaluate("getComputedStyle(document.querySelector('.controls')).display") == "none"
    pdf = base64.b64decode(b.call("Page.printToPDF", printBackground=True)["data"])
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000


@needs_browser
def test_browser_csp_blocks_what_an_escaping_bug_would_let_through(report: Report, tmp_path: Path) -> None:
    """Belt and braces: inject a live <img>/<script src> into the rendered page, as an escaping bug
    would; the Content-Security-Policy blocks both and nothing reaches the network."""
    assert CHROMIUM
    page = render(report, "html").replace(
        "<body>", f'<body><img id="leak" src="http://{CANARY}/leak.png"><script src="http://{CANARY}/x.js"></script>', 1)
    with RecordingProxy(PAGE_URL, page.encode()) as proxy, Browser(CHROMIUM, proxy=proxy.address) as b:
        b.call("Network.enable")
        b.call("Page.enable")
        b.call("Page.addScriptToEvaluateOnNewDocument", source=(
            "window.__csp = []; document.addEventListener('securitypolicyviolation', "
            "function (e) { window.__csp.push(e.violatedDirective); });"))
        _goto(b, PAGE_URL)  # our own script still runs
        b.drain(0.5)
        assert sorted(set(b.evaluate("window.__csp"))) == ["img-src", "script-src-elem"]
        assert not [r for r in proxy.requests if CANARY in r]
        failed = {e["params"].get("blockedReason") for e in b.events if e["method"] == "Network.loadingFailed"}
        assert failed == {"csp"}


@needs_browser
def test_browser_big_page_shows_one_page_and_finds_every_document(report: Report) -> None:
    """Past the first page, rows wait in a <template>: filtering still finds them, "show every…" and
    printing bring them all."""
    assert CHROMIUM
    docs = [replace(report.documents[i % 4], id=f"doc-{i:04d}") for i in range(1000)]
    body = render(replace(report, documents=docs), "html").encode()
    with RecordingProxy(PAGE_URL, body) as proxy, Browser(CHROMIUM, proxy=proxy.address) as b:
        b.call("Page.enable")
        _goto(b, PAGE_URL)
        assert len(_visible(b)) == 200
        assert b.evaluate("document.getElementById('shown').textContent") == "200 of 1000 documents shown"
        b.evaluate("(() => { const q = document.getElementById('q'); q.value = 'doc-0999';"
                   " q.dispatchEvent(new Event('input')); })()")
        assert _visible(b) == ["doc-0999"]
        b.evaluate("(() => { const q = document.getElementById('q'); q.value = 'blocked';"
                   " q.dispatchEvent(new Event('input')); })()")
        assert b.evaluate("document.getElementById('shown').textContent") == \
            "200 of 250 matching documents shown (1000 in all)"
        b.evaluate("document.getElementById('all').click()")
        assert len(_visible(b)) == 250 and b.evaluate("document.getElementById('all').hidden")
        assert not [r for r in proxy.requests if "linkwatch-status.test" not in r and "un.org" in r]
