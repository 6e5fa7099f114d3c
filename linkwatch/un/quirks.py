"""Site-specific behaviour of UN resolvers, in one place.

Everything linkwatch knows about how documents.un.org, undocs.org and friends misbehave lives
here, so the generic stages (fetch, inspect, compare) stay generic and a newcomer finds every
oddity in one file.

The resolver quirks and where each is judged (each tested against a local server imitating it, in
``tests/test_quirks.py``):

- the ODS answers a missing symbol with HTTP 200 and a placeholder PDF → :func:`is_ods_placeholder`
  → ``wrong-document``;
- documents.un.org (AWS WAF) answers automated clients with HTTP 202 and
  ``x-amzn-waf-action: challenge`` → :func:`is_bot_challenge` → ``blocked``, never ``ok``;
- a resolver answers 200 with an empty body, or an HTML viewer page where a PDF was expected →
  not UN-specific: the bytes are sniffed (:func:`linkwatch.observation.sniff`, whatever the
  Content-Type says) and :mod:`linkwatch.compare` calls both ``wrong-type``.
"""
from __future__ import annotations

from collections.abc import Mapping

# The Official Document System answers a missing symbol with HTTP 200 and a valid one-page PDF
# saying so (fixture A_78_1.en.pdf). Matched on page-1 text, whitespace-collapsed, lowercased.
ODS_PLACEHOLDER_PHRASES: tuple[str, ...] = (
    "the document you are looking for does not exist",
    "document you are looking for does not exist in the official document system",
)


def is_ods_placeholder(page1_text: str) -> bool:
    """True when page-1 text is the ODS "document does not exist" placeholder."""
    flat = " ".join(page1_text.split()).lower()
    return any(p in flat for p in ODS_PLACEHOLDER_PHRASES)


def is_bot_challenge(status: int, headers: Mapping[str, str]) -> bool:
    """True when a response is a bot challenge rather than an answer.

    AWS WAF (in front of documents.un.org) answers 202 with ``x-amzn-waf-action: challenge``;
    Cloudflare answers 403 (or 503) with ``cf-mitigated: challenge``. Neither is the document,
    and neither means the document is gone: the status is ``blocked``.
    """
    for name, value in headers.items():  # runs for every response: no lowercased copy of the dict
        if name.lower() in _CHALLENGE_HEADERS and value.strip().lower() in _CHALLENGE_HEADERS[name.lower()]:
            return True
    return False


_CHALLENGE_HEADERS = {"x-amzn-waf-action": ("challenge", "captcha"), "cf-mitigated": ("challenge",)}
