"""Stage 4: judge an observation — its *status* now, and its *drift* since the last observation.

Pure functions over plain data: a :class:`~linkwatch.manifest.Document` (what is cited), the new
:class:`~linkwatch.observation.Observation` and the previous one from the index (or None).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .un import quirks
from .un import symbols as unsymbols
from .manifest import Document
from .observation import Observation

SEVERITIES = ("info", "warning", "error")  # ascending
STATUSES = ("ok", "broken", "unreachable", "blocked", "wrong-type", "wrong-document", "unverified")
DRIFTS = ("gone", "recovered", "moved", "content-changed", "retitled", "reissued", "type-changed", "superseded")

# What each status weighs when it is a finding. `blocked` and `unverified` are warnings: the
# document may well be fine, linkwatch just could not prove it.
STATUS_SEVERITY = {
    "broken": "error", "unreachable": "error", "wrong-type": "error", "wrong-document": "error",
    "blocked": "warning", "unverified": "warning",
}
DRIFT_SEVERITY = {
    "gone": "error", "moved": "warning", "content-changed": "warning", "retitled": "warning",
    "type-changed": "warning", "superseded": "warning", "recovered": "info", "reissued": "info",
}
# A later edition served *instead of* the cited one (A/80/62 at the URL cited for A/79/62) is an
# error, like the wrong-document it replaces: a reader following the citation no longer gets the
# cited document, and a nightly CI run must fail. The finding says what to do (cite the new symbol,
# or a URL that keeps the old edition), which a plain wrong-document cannot.
SUPERSEDED_SERVED_SEVERITY = "error"
_PERMANENT_REDIRECTS = (301, 308)
_TITLE_MATCH = 0.7  # share of the expected title's words that must appear in the found title


@dataclass(frozen=True)
class Finding:
    """One judgement: a status problem (kind = the status) or a drift (kind = the drift)."""

    kind: str  # a status other than ok, a drift, "title-mismatch", "insecure-redirect"…
    severity: str  # "info" | "warning" | "error"
    message: str


def judge(doc: Document, obs: Observation, previous: Observation | None, *,
          streak: int | None = None, transient: int = 1,
          availability_only: bool = False) -> tuple[str, list[Finding]]:
    """The status of ``obs`` and every finding about it (status problem first, then drift).

    ``availability_only`` (``check --availability-only``): no body was read, so the status comes
    from HTTP alone — ``ok`` means the final response (after redirects) was 2xx and not a bot
    challenge; content statuses (wrong-type, wrong-document, unverified) and content drift
    (content-changed, retitled, reissued, type-changed) cannot arise.

    The transient rule (``--transient N``): ``streak`` is how many transient failures (see
    :func:`is_transient`) came right before this observation *after an ok* (None: no ok before
    them). A transient failure that is not yet the ``transient``-th in a row weighs a warning,
    not an error; with ``transient=1`` (the default here) every failure is an error at once.
    """
    if availability_only:
        status, message = _http_status(obs)
        status = status or "ok"
        problem = None if status == "ok" else Finding(status, STATUS_SEVERITY[status], message)
    else:
        status, problem = status_of(doc, obs)
    if status == "wrong-document":
        problem = superseded(doc, obs, previous) or problem
    findings = [problem] if problem else []
    if status == "ok" and not availability_only:
        findings += _title_check(doc, obs)
    findings += _insecure_redirect(obs)
    findings += drift(obs, status, previous)
    if streak is not None and streak + 1 < transient and is_transient(status, obs.http_status):
        findings = [_grace(f, streak + 1, transient) if f.kind in (status, "gone") and f.severity == "error" else f
                    for f in findings]
    return status, findings


def is_transient(status: str | None, http_status: int | None) -> bool:
    """A failure that may clear by itself: ``unreachable``, or ``broken`` by a 5xx after retries."""
    return status == "unreachable" or (status == "broken" and http_status is not None and 500 <= http_status < 600)


def _grace(f: Finding, nth: int, transient: int) -> Finding:
    return Finding(f.kind, "warning", f"{f.message} (failure {nth} in a row after ok; a warning until "
                                      f"{transient} in a row, see --transient)")


def _insecure_redirect(obs: Observation) -> list[Finding]:
    """An https URL redirected to plain http: whatever came back could have been altered in transit."""
    chain = [h.url for h in obs.redirects] + ([obs.final_url] if obs.final_url else [])
    for here, there in zip(chain, chain[1:]):
        if here.lower().startswith("https:") and there.lower().startswith("http:"):
            return [Finding("insecure-redirect", "warning",
                            f"https → http downgrade: {here} redirects to {there} (not encrypted, not authenticated)")]
    return []


def worst(findings: list[Finding]) -> str | None:
    """The highest severity among findings, or None."""
    ranks = [SEVERITIES.index(f.severity) for f in findings]
    return SEVERITIES[max(ranks)] if ranks else None


def status_of(doc: Document, obs: Observation) -> tuple[str, Finding | None]:
    """Is it reachable, and is it still the document we cite?"""
    status, message = _http_status(obs)
    if status is None:
        status, message = _content_status(doc, obs)
    if status == "ok":
        return status, None
    return status, Finding(status, STATUS_SEVERITY[status], message)


def _http_status(obs: Observation) -> tuple[str | None, str]:
    code = obs.http_status
    if obs.error_kind == "challenge" or (code is not None and quirks.is_bot_challenge(code, obs.response_headers)):
        return "blocked", f"bot challenge (HTTP {code}); the server did not serve the document to linkwatch"
    if obs.error_kind in ("redirect-loop", "too-many-redirects", "scheme", "refused-redirect"):
        return "broken", obs.error or obs.error_kind or "bad redirect"
    if obs.error_kind == "too-large":
        return "unverified", obs.error or "body larger than the maximum size"
    if obs.error_kind == "protocol":  # the server answered with something that is not HTTP
        return "broken", obs.error or "invalid HTTP response"
    if obs.error_kind in ("connection", "timeout"):  # no answer, or a body cut short or dripped
        return "unreachable", obs.error or "no response"
    if code is None:
        return "unreachable", obs.error or "no response"
    if code in (401, 403, 429):
        if code == 429 and obs.error and "Retry-After" in obs.error:  # gave up on a too-long wait
            return "blocked", f"rate limited: {obs.error}"
        return "blocked", f"HTTP {code}" + (" (rate limited after retries)" if code == 429 else " (access refused)")
    if code >= 400:
        return "broken", f"HTTP {code}"
    if code not in (304,) and not 200 <= code < 300:
        return "broken", f"unexpected HTTP {code}"
    return None, ""


def _content_status(doc: Document, obs: Observation) -> tuple[str, str]:
    if obs.sniffed == "empty":
        return "wrong-type", "empty body"
    if doc.kind == "page":
        return "ok", ""
    if obs.sniffed != "pdf":
        what = "an HTML page" if obs.sniffed == "html" else f"{obs.content_type or 'unknown content'}"
        return "wrong-type", f"expected a PDF, got {what}"
    ins = obs.inspection
    if ins is None:
        return "unverified", "not inspected"
    if ins.error:
        return "unverified", f"inspect-failed: {ins.error}"
    if ins.placeholder:
        return "wrong-document", "the ODS 'document does not exist' placeholder is served instead of the document"
    if not doc.symbols:
        return "ok", ""  # nothing to verify against: readable PDF is all we can say
    if not ins.symbols:
        if ins.unverified:  # a scan's OCR layer: a candidate, not evidence (linkwatch.pdf.reading)
            return "unverified", (f"page 1's symbol reads like an OCR misreading of {' – '.join(ins.unverified)}; "
                                  "not trusted")
        return "unverified", "no document symbol could be read on page 1"
    if not _symbols_match(doc.symbols, ins.symbols):
        return "wrong-document", f"page 1 shows {' – '.join(ins.symbols)}, not {' – '.join(doc.symbols)}" + (
            f" ({ins.lang})" if ins.lang and doc.lang and ins.lang != doc.lang else "")
    if doc.lang and ins.lang and ins.lang != doc.lang:
        return "wrong-document", f"the {ins.lang} version is served, not the {doc.lang} one"
    return "ok", ""


def still_cited(doc: Document, inspection: Inspection | None) -> bool:
    """Whether a version judged ``ok`` then is still the document ``doc`` cites now: its page 1
    shows the cited symbol (in the cited language). A manifest may keep an id and change what it
    cites; a version verified against the old citation must not be presented under the new one."""
    if not doc.symbols or inspection is None or not inspection.symbols:
        return True  # nothing to hold it against (a page, a symbol-less entry)
    if not _symbols_match(doc.symbols, inspection.symbols):
        return False
    return not (doc.lang and inspection.lang and inspection.lang != doc.lang)


def superseded(doc: Document, obs: Observation, previous: Observation | None) -> Finding | None:
    """A ``superseded`` finding when page 1 shows a later edition of the cited document: its symbol
    differs only by a later session or year (:func:`linkwatch.un.symbols.is_successor`) and its title
    matches the cited title, or the title of the last good observation. Else None."""
    ins = obs.inspection
    if ins is None or not ins.symbols or not doc.symbols or ins.placeholder:
        return None
    if doc.lang and ins.lang and ins.lang != doc.lang:
        return None  # another language is another problem
    cited, found = unsymbols.render_joint(doc.symbols), unsymbols.render_joint(ins.symbols)
    if not unsymbols.is_successor(cited, found) or not ins.title:
        return None
    known = [doc.title]
    if previous is not None and previous.status == "ok" and previous.inspection:
        known.append(previous.inspection.title)
    if not any(t and titles_match(t, ins.title) for t in known):
        return None
    return Finding("superseded", SUPERSEDED_SERVED_SEVERITY,
                   f"a later edition is served: page 1 shows {found}, a later session's edition of "
                   f"{cited} (same title); cite {found}, or a URL that still serves {cited}")


def _symbols_match(expected: tuple[str, ...], found: list[str]) -> bool:
    # A joint document prints all its symbols; citing any one of them is citing it.
    return any(unsymbols.same(e, f) for e in expected for f in found)


def _title_check(doc: Document, obs: Observation) -> list[Finding]:
    found = obs.inspection.title if obs.inspection else None
    if not doc.title or not found or titles_match(doc.title, found):
        return []
    return [Finding("title-mismatch", "warning", f"title on page 1 is {found!r}, manifest says {doc.title!r}")]


def titles_match(expected: str, found: str) -> bool:
    """Loose: most of the cited title's words appear in the found one (citations abbreviate)."""
    want, have = _words(expected), _words(found)
    if not want:
        return True
    return len(want & have) / len(want) >= _TITLE_MATCH


def _words(text: str) -> set[str]:
    flat = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    return {w for w in re.findall(r"\w+", flat) if len(w) > 2}


def drift(obs: Observation, status: str, previous: Observation | None) -> list[Finding]:
    """What changed since the previous observation (a permanent redirect counts even on a first run)."""
    found: list[Finding] = []
    moved = _moved(obs, previous)
    if moved:
        found.append(Finding("moved", DRIFT_SEVERITY["moved"], moved))
    if previous is None:
        return found
    was_ok = previous.status == "ok"
    if was_ok and status in ("broken", "unreachable"):
        found.append(_drift("gone", f"was ok on {previous.observed_at}, now {status}"))
    if not was_ok and status == "ok":
        found.append(_drift("recovered", f"was {previous.status} on {previous.observed_at}, now ok"))
    if obs.sha256 and previous.sha256 and obs.sha256 != previous.sha256:
        found.append(_drift("content-changed", f"sha256 {previous.sha256[:12]}… → {obs.sha256[:12]}… "
                            f"(size {previous.size} → {obs.size})"))
        if obs.inspection and obs.inspection.reissued:
            found.append(_drift("reissued", "the new version is marked reissued (asterisk / 'Reissued for technical reasons')"))
    old_title = previous.inspection.title if previous.inspection else None
    new_title = obs.inspection.title if obs.inspection else None
    if old_title and new_title and _norm(old_title) != _norm(new_title):
        found.append(_drift("retitled", f"{old_title!r} → {new_title!r}"))
    if previous.sniffed and obs.sniffed and previous.sniffed != obs.sniffed:
        found.append(_drift("type-changed", f"{previous.sniffed} → {obs.sniffed}"))
    return found


def _moved(obs: Observation, previous: Observation | None) -> str | None:
    if obs.error_kind in ("redirect-loop", "too-many-redirects", "scheme", "refused-redirect"):
        return None  # a refused redirect chain is `broken`, not a new address
    permanent = [h for h in obs.redirects if h.status in _PERMANENT_REDIRECTS]
    if permanent and obs.final_url:
        return f"permanent redirect (HTTP {permanent[0].status}) from {obs.url} to {obs.final_url}"
    if previous and previous.final_url and obs.final_url and previous.final_url != obs.final_url:
        return f"final URL changed from {previous.final_url} to {obs.final_url}"
    return None


def _drift(kind: str, message: str) -> Finding:
    return Finding(kind, DRIFT_SEVERITY[kind], message)


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())
