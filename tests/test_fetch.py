"""Fetcher against a real local HTTP server that misbehaves on purpose (tests/httpserver.py)."""
from __future__ import annotations

import gzip
import hashlib
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpserver import (
    Content,
    Delay,
    Drip,
    Exchange,
    GzipBomb,
    Hang,
    Redirect,
    Reset,
    Sequence,
    Status,
    Truncate,
    challenge,
    soft_404,
    too_many,
)
from linkwatch import __version__
from linkwatch.http.client import FetchConfig
from linkwatch.http.fetcher import Fetcher
from linkwatch.http.urls import request_url
from linkwatch.http.ratelimit import HostLimiter
from linkwatch.http.retry import parse_retry_after

PDF = Path(__file__).parent / "fixtures" / "pdfs" / "A_80_62.en.pdf"

# Small waits everywhere: the suite must stay fast.
FAST = FetchConfig(timeout=2.0, retries=2, backoff=0.01, backoff_max=0.05)


@pytest.fixture
def fetcher():
    with Fetcher(FAST) as f:
        yield f


def leftovers(directory: Path) -> list[Path]:
    """Temp files the fetcher left behind."""
    return sorted(directory.glob(".part-*"))


# -- success ----------------------------------------------------------------------------------


def test_pdf_is_streamed_to_a_temp_file_with_both_hashes(server, fetcher, tmp_path):
    data = PDF.read_bytes()
    url = server.route("/A_80_62.en.pdf", Content.file(PDF))

    r = fetcher.fetch(url, tmp_path)

    assert (r.http_status, r.error, r.error_kind) == (200, None, None)
    assert r.sha256 == hashlib.sha256(data).hexdigest()
    assert r.sha512 == hashlib.sha512(data).hexdigest()
    assert r.size == len(data)
    assert r.body_path is not None and r.body_path.parent == tmp_path
    assert r.body_path.name.startswith(".part-")
    assert r.body_path.read_bytes() == data
    assert r.head == data[:1024] and r.head.startswith(b"%PDF-")
    assert r.content_type == "application/pdf"
    assert r.etag and r.last_modified
    assert r.final_url == url and r.redirects == [] and r.attempts == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r.started_at)
    assert r.elapsed > 0
    assert r.response_headers["Content-Type"] == "application/pdf"

    sent = server.requests("/A_80_62.en.pdf")[0].headers
    assert sent["user-agent"].startswith(f"linkwatch/{__version__}")
    assert sent["accept"] == "application/pdf,text/html;q=0.9,*/*;q=0.8"
    assert r.request_headers["User-Agent"] == sent["user-agent"]
    assert "if-none-match" not in sent


def test_gzip_encoded_body_is_decoded_before_hashing(server, fetcher, tmp_path):
    data = PDF.read_bytes()
    url = server.route("/z.pdf", Content(gzip.compress(data), "application/pdf", headers={"Content-Encoding": "gzip"}))
    r = fetcher.fetch(url, tmp_path)
    assert r.sha256 == hashlib.sha256(data).hexdigest() and r.size == len(data)


def test_soft_404_is_a_200_html_page(server, fetcher, tmp_path):
    r = fetcher.fetch(server.route("/gone", soft_404()), tmp_path)
    assert r.http_status == 200 and r.error is None
    assert r.content_type == "text/html"
    assert r.head.startswith(b"<!DOCTYPE html>")


def test_url_with_space_and_non_ascii_path_is_percent_encoded(server, fetcher, tmp_path):
    server.route("/docs%202024/r%C3%A9solution.pdf", Content(b"%PDF-1.7 x", "application/pdf"))
    url = server.url("/") + "docs 2024/résolution.pdf?lang=fr&q=a b"

    r = fetcher.fetch(url, tmp_path)

    assert r.http_status == 200, r.error
    assert r.url == url and r.final_url == url  # recorded as given
    assert server.requests()[0].target == "/docs%202024/r%C3%A9solution.pdf?lang=fr&q=a%20b"


def test_request_url_encodes_like_a_browser():
    assert request_url("http://Example.org/a b/é?x=é 'y'#frag") == "http://example.org/a%20b/%C3%A9?x=%C3%A9%20%27y%27"
    assert request_url("http://x.org/already%20done/100%") == "http://x.org/already%20done/100%25"
    assert request_url("https://bücher.example/") == "https://xn--bcher-kva.example/"


def test_availability_only_reads_no_body(server, fetcher, tmp_path):
    big = bytes(64 * 1024**2)  # more than loopback socket buffers can absorb
    url = server.route("/big.pdf", Content(big, "application/pdf", etag=None))
    r = fetcher.fetch(url, tmp_path, want_body=False)
    assert r.http_status == 200 and r.error is None
    assert r.body_path is None and r.size is None and r.sha256 is None
    assert leftovers(tmp_path) == []
    # The connection was dropped rather than drained: the server could not send the whole body.
    assert server.body_bytes("/big.pdf") < len(big)


# -- conditional requests ---------------------------------------------------------------------


def test_conditional_request_answered_304_sends_no_body(server, fetcher, tmp_path):
    url = server.route("/a.pdf", Content.file(PDF))
    first = fetcher.fetch(url, tmp_path)
    server.reset_counts()

    by_etag = fetcher.fetch(url, tmp_path, etag=first.etag)
    by_date = fetcher.fetch(url, tmp_path, last_modified=first.last_modified)

    for r in (by_etag, by_date):
        assert r.http_status == 304 and r.not_modified and r.error is None
        assert r.body_path is None and r.sha256 is None and r.size is None
    assert server.hits("/a.pdf") == 2
    assert server.body_bytes() == 0  # measured by the server, not by the client
    assert server.requests()[0].headers["if-none-match"] == first.etag
    assert server.requests()[1].headers["if-modified-since"] == first.last_modified
    assert leftovers(tmp_path) == [first.body_path]


def test_changed_content_is_fetched_again_despite_the_old_etag(server, fetcher, tmp_path):
    url = server.route("/a.pdf", Content(b"%PDF-1.4 old", "application/pdf"))
    old = fetcher.fetch(url, tmp_path)
    server.route("/a.pdf", Content(b"%PDF-1.4 new", "application/pdf"))
    r = fetcher.fetch(url, tmp_path, etag=old.etag)
    assert r.http_status == 200 and not r.not_modified
    assert r.sha256 == hashlib.sha256(b"%PDF-1.4 new").hexdigest()


# -- HTTP errors and redirects ----------------------------------------------------------------


def test_404_records_status_and_keeps_no_body(server, fetcher, tmp_path):
    r = fetcher.fetch(server.url("/missing.pdf"), tmp_path)
    assert r.http_status == 404 and r.error_kind == "http"
    assert r.body_path is None and r.sha256 is None
    assert r.response_headers and r.attempts == 1
    assert leftovers(tmp_path) == []


def test_redirect_chain_is_recorded(server, fetcher, tmp_path):
    final = server.route("/new/a.pdf", Content.file(PDF))
    server.route("/old/a.pdf", Redirect("../new/a.pdf", 302))  # relative to the current URL
    start = server.route("/a", Redirect("/old/a.pdf", 301))

    r = fetcher.fetch(start, tmp_path)

    assert r.http_status == 200 and r.final_url == final
    assert [(h.url, h.status, h.location) for h in r.redirects] == [
        (start, 301, "/old/a.pdf"),
        (server.url("/old/a.pdf"), 302, "../new/a.pdf"),
    ]
    assert r.sha256 == hashlib.sha256(PDF.read_bytes()).hexdigest()


def test_redirect_loop_is_detected(server, fetcher, tmp_path):
    server.route("/a", Redirect("/b"))
    server.route("/b", Redirect("/a"))
    r = fetcher.fetch(server.url("/a"), tmp_path)
    assert r.error_kind == "redirect-loop" and r.http_status == 301
    assert server.hits() == 2


def test_too_many_redirects(server, tmp_path):
    for i in range(6):
        server.route(f"/r{i}", Redirect(f"/r{i + 1}"))
    with Fetcher(FetchConfig(max_redirects=3)) as f:
        r = f.fetch(server.url("/r0"), tmp_path)
    assert r.error_kind == "too-many-redirects"
    assert len(r.redirects) == 3 and server.hits() == 4


def test_redirect_to_ftp_is_refused(server, fetcher, tmp_path):
    r = fetcher.fetch(server.route("/a", Redirect("ftp://ftp.example.org/a.pdf")), tmp_path)
    assert r.error_kind == "scheme" and r.http_status == 301
    assert r.response_headers["Location"] == "ftp://ftp.example.org/a.pdf"


def test_bad_urls_do_not_raise(fetcher, tmp_path):
    assert fetcher.fetch("ftp://example.org/a.pdf", tmp_path).error_kind == "scheme"
    assert fetcher.fetch("http:///nohost", tmp_path).error_kind == "connection"


# -- retries ----------------------------------------------------------------------------------


def test_503_twice_then_200(server, fetcher, tmp_path):
    url = server.route("/a.pdf", Sequence(Status(503), Status(503), Content.file(PDF)))
    r = fetcher.fetch(url, tmp_path)
    assert r.http_status == 200 and r.error is None
    assert r.attempts == 3 and server.hits("/a.pdf") == 3


def test_5xx_after_retries_is_the_final_status(server, fetcher, tmp_path):
    r = fetcher.fetch(server.route("/a", Status(502)), tmp_path)
    assert r.http_status == 502 and r.error_kind == "http"
    assert r.attempts == FAST.retries + 1 == server.hits("/a")


def test_429_retry_after_is_honoured(server, fetcher, tmp_path):
    url = server.route("/a.pdf", Sequence(too_many(1), Content.file(PDF)))
    r = fetcher.fetch(url, tmp_path)
    assert r.http_status == 200 and r.attempts == 2
    first, second = server.requests("/a.pdf")
    assert second.received_at - first.received_at >= 0.95


def test_retry_after_http_date_is_honoured(server, fetcher, tmp_path):
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=2), usegmt=True)
    url = server.route("/a", Sequence(Status(503, headers={"Retry-After": when}), Content(b"ok")))
    r = fetcher.fetch(url, tmp_path)
    assert r.http_status == 200 and r.attempts == 2
    first, second = server.requests("/a")
    assert second.received_at - first.received_at >= 0.5  # the date has 1 s resolution


@pytest.mark.parametrize("retry_after", ["3600", "Wed, 01 Jan 2098 00:00:00 GMT"])
def test_429_retry_after_beyond_the_cap_gives_up_at_once(server, fetcher, tmp_path, retry_after):
    url = server.route("/a", too_many(retry_after))
    t0 = time.monotonic()
    r = fetcher.fetch(url, tmp_path)
    assert time.monotonic() - t0 < 1
    assert r.http_status == 429 and r.attempts == 1 and server.hits("/a") == 1
    assert "cap" in r.error


def test_bot_challenge_is_not_retried(server, fetcher, tmp_path):
    r = fetcher.fetch(server.route("/a.pdf", challenge()), tmp_path)
    assert r.http_status == 202 and r.error_kind == "challenge"
    assert r.attempts == 1 and server.hits("/a.pdf") == 1
    assert r.body_path is None and leftovers(tmp_path) == []


def test_connection_refused(fetcher, tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = fetcher.fetch(f"http://127.0.0.1:{port}/a.pdf", tmp_path)
    assert r.http_status is None and r.final_url is None
    assert r.error_kind == "connection" and r.error
    assert r.attempts == FAST.retries + 1


def test_server_that_never_answers_times_out(server, tmp_path):
    url = server.route("/a", Hang())
    with Fetcher(FetchConfig(timeout=0.3, retries=1, backoff=0.01)) as f:
        r = f.fetch(url, tmp_path)
    assert r.http_status is None and r.error_kind == "timeout"
    assert r.attempts == 2 and server.hits("/a") == 2


@pytest.mark.parametrize("handler", [Reset(b"%PDF" * 50_000, 10_000), Truncate(b"%PDF" * 50_000, 10_000)])
def test_body_cut_short_is_retried_and_leaves_no_file(server, fetcher, tmp_path, handler):
    r = fetcher.fetch(server.route("/a.pdf", handler), tmp_path)
    assert r.error_kind == "connection" and r.body_path is None
    assert r.attempts == FAST.retries + 1
    assert leftovers(tmp_path) == []


def test_slow_drip_stopped_by_the_fetch_deadline(server, tmp_path):
    # Above --min-rate (off here), a body trickling in is still stopped at the fetch's deadline,
    # and not retried: another attempt would take as long.
    url = server.route("/a.pdf", Drip(b"%PDF" * 100, chunk=10, interval=0.05))
    with Fetcher(FetchConfig(retries=2, min_rate=0, max_time=0.3)) as f:
        t0 = time.monotonic()
        r = f.fetch(url, tmp_path)
    assert r.error_kind == "timeout" and "deadline (0.3 s)" in r.error and leftovers(tmp_path) == []
    assert r.attempts == 1 and time.monotonic() - t0 < 2


# -- size cap ---------------------------------------------------------------------------------


def _no_length(body: bytes):
    """A handler sending ``body`` without Content-Length (ends by closing the connection)."""

    def handler(ex: Exchange) -> None:
        ex.send_head(200, {"Content-Type": "application/pdf", "Connection": "close"})
        for i in range(0, len(body), 65536):
            ex.write(body[i : i + 65536])
        ex.close()

    return handler


@pytest.mark.parametrize("route", ["declared", "undeclared"])
def test_body_over_max_size_is_too_large_and_nothing_is_kept(server, tmp_path, route):
    body = PDF.read_bytes()
    handler = Content(body, "application/pdf") if route == "declared" else _no_length(body)
    with Fetcher(FetchConfig(max_size=100_000)) as f:
        r = f.fetch(server.route("/a.pdf", handler), tmp_path)
    assert r.error_kind == "too-large" and r.attempts == 1
    assert r.body_path is None and r.sha256 is None
    assert leftovers(tmp_path) == []


def test_gzip_bomb_stops_at_the_cap(server, tmp_path):
    bomb = GzipBomb(256 * 1024**2)  # 256 MiB of zeros in ~256 KiB
    with Fetcher(FetchConfig(max_size=1024**2)) as f:
        r = f.fetch(server.route("/bomb.pdf", bomb), tmp_path)
    assert r.error_kind == "too-large" and r.body_path is None
    assert leftovers(tmp_path) == []


# -- politeness -------------------------------------------------------------------------------


def test_per_host_limit_caps_requests_in_flight(server, tmp_path):
    server.route("/slow", Delay(0.15, Content(b"ok")))
    with Fetcher(FetchConfig(per_host=2)) as f, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: f.fetch(server.url("/slow"), tmp_path), range(8)))
    assert all(r.http_status == 200 for r in results)
    assert server.max_in_flight() == 2


def test_min_interval_spaces_request_starts(server, tmp_path):
    server.route("/a", Content(b"ok"))
    with Fetcher(FetchConfig(per_host=4, min_interval=0.1)) as f, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: f.fetch(server.url("/a"), tmp_path), range(4)))
    times = sorted(r.received_at for r in server.requests())
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.08


def test_retry_wait_does_not_hold_the_host_slot(server, tmp_path):
    server.route("/limited", Sequence(too_many(1), Content(b"ok")))
    server.route("/other", Content(b"ok"))
    with Fetcher(FetchConfig(per_host=1)) as f:
        waiting = threading.Thread(target=f.fetch, args=(server.url("/limited"), tmp_path))
        waiting.start()
        time.sleep(0.2)  # /limited is now sleeping on its Retry-After
        t0 = time.monotonic()
        r = f.fetch(server.url("/other"), tmp_path)
        took = time.monotonic() - t0
        waiting.join()
    assert r.http_status == 200 and took < 0.5


def test_host_limiter_counts_hosts_separately():
    limiter = HostLimiter(per_host=1)
    with limiter.slot("a.example"), limiter.slot("b.example"):  # would deadlock if shared
        pass
    assert limiter.hosts() == ["a.example", "b.example"]


# -- Retry-After parsing ----------------------------------------------------------------------


def test_parse_retry_after_forms():
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Wed, 01 Jan 2025 00:01:00 GMT", now) == 60.0
    assert parse_retry_after("Tue, 31 Dec 2024 00:00:00 GMT", now) == 0.0  # past: now
    for junk in (None, "", "soon", "-5", "nan", "inf"):
        assert parse_retry_after(junk) is None


@given(st.integers(min_value=0, max_value=10**9))
def test_parse_retry_after_delta_seconds(n):
    assert parse_retry_after(str(n)) == float(n)


@given(st.text())
def test_parse_retry_after_never_raises(text):
    value = parse_retry_after(text)
    assert value is None or value >= 0


def test_request_url_fast_path_agrees_with_the_general_path(monkeypatch) -> None:
    # request_url returns an already-normal URL untouched without parsing it (the bulk path calls
    # it 10,000 times a run); on any URL, that shortcut must give what the general path gives.
    import random
    import re

    from linkwatch.http import urls as wire

    def outcome(url: str) -> str:
        try:
            return wire.request_url(url)
        except ValueError as exc:  # UnsupportedScheme is a ValueError
            return type(exc).__name__

    pieces = ["http://", "https://", "HTTP://", "ftp://", "a.org", "A.org", "127.0.0.1", "[::1]", "ex-a.b",
              ":80", ":0080", ":99999", ":65535", "/", "/x y", "/%41", "/%zz", "/é", "?", "?a=1", "?q='x",
              "#f", "/a?b#c", "/`", "@", "u:p@", " ", "/p/../x", "-a.org", "/{}", "?<>"]
    rng = random.Random(7)
    urls = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(20000)]
    urls += ["http://127.0.0.1:8080/doc/1.pdf", "https://undocs.org/A/80/62", "https://x.org", "https://x.org/a?b=1"]
    fast = [outcome(u) for u in urls]
    shortcut = sum(bool(wire._NORMAL_URL.fullmatch(u)) for u in urls)
    monkeypatch.setattr(wire, "_NORMAL_URL", re.compile("(?!)"))  # the shortcut never applies
    assert [outcome(u) for u in urls] == fast
    assert shortcut >= 10  # and the shortcut was really tried
