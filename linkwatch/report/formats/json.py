"""JSON format: the lossless, machine-readable report (see docs/report-schema.json).

Written document by document (:func:`write`): a 10,000-document report is never one string in
memory, and the output is byte for byte what ``json.dumps(report.to_dict(), indent=2,
ensure_ascii=False)`` gives, only faster (the standard library's C encoder is used for strings;
its indenting encoder is pure Python and was most of the time of a big run's report).
"""
from __future__ import annotations

import io
import json
import re
from json.encoder import encode_basestring
from typing import IO, Any

from ..model import Report

# json.dumps(ensure_ascii=False) escapes C0 controls but writes DEL, C1 controls (0x9b is an
# 8-bit CSI), bidi overrides and U+2028/2029 raw. Escaping them as \uXXXX keeps the data exact
# (JSON round-trips it) while `cat report.json` can no longer drive a terminal. They can only
# occur inside JSON strings, so replacing them everywhere is safe.
_RAW_CONTROLS = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_INDENT = "  "


def render(report: Report, *, color: bool = False, width: int | None = None,
           fail_on: str = "error") -> str:
    """The report as indented UTF-8 JSON, ending with a newline."""
    out = io.StringIO()
    write(report, out)
    return out.getvalue()


def write(report: Report, stream: IO[str]) -> None:
    """Write :func:`render`'s text to ``stream`` a document at a time."""
    head = report.to_dict(documents=False)
    inner = "\n" + _INDENT
    stream.write("{" + inner + ("," + inner).join(
        encode_basestring(k) + ": " + _safe(encode(v, inner)) for k, v in head.items()))
    stream.write("," + inner + '"documents": ')
    if not report.documents:
        stream.write("[]\n}\n")
        return
    item = inner + _INDENT
    sep = "[" + item
    for doc in report.documents:
        stream.write(sep + _safe(encode(doc.to_dict(), item)))
        sep = "," + item
    stream.write(inner + "]\n}\n")


def dumps(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, made as inert as the report (for the
    command line's other JSON outputs: ``inspect``, ``history``, ``diff``…)."""
    return _safe(json.dumps(value, indent=2, ensure_ascii=False))


def encode(value: Any, pad: str = "\n") -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, each line after the first indented by
    ``pad`` (a newline and the indentation of the line ``value`` starts on)."""
    t = type(value)
    if t is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if t is int:
        return int.__repr__(value)
    if t is float and value == value and value not in (_INF, -_INF):
        return float.__repr__(value)
    if t is list or t is tuple:
        if not value:
            return "[]"
        inner = pad + _INDENT
        return "[" + inner + ("," + inner).join([encode(x, inner) for x in value]) + pad + "]"
    if t is dict and all(type(k) is str for k in value):
        if not value:
            return "{}"
        inner = pad + _INDENT
        parts = []
        for k, x in value.items():  # scalars inline: a report is mostly scalars
            tx = type(x)
            if tx is str:
                s = encode_basestring(x)
            elif x is None:
                s = "null"
            elif tx is int:
                s = int.__repr__(x)
            else:
                s = encode(x, inner)
            key = _KEYS.get(k)
            if key is None:
                key = encode_basestring(k) + ": "
                if len(_KEYS) < 1024:
                    _KEYS[k] = key
            parts.append(key + s)
        return "{" + inner + ("," + inner).join(parts) + pad + "}"
    # Anything else (NaN, subclasses, non-string keys…): the standard encoder, re-indented.
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", pad)


_INF = float("inf")
_KEYS: dict[str, str] = {}  # encoded keys, '"status": ' (a report has a few dozen distinct ones)


def _safe(text: str) -> str:
    if "##[" in text:  # a legacy workflow command, acted on anywhere in a line a CI job prints:
        text = text.replace("##[", "\\u0023#[")  # only inside strings, where \u0023 is "#" again
    if text.isascii() and "\x7f" not in text:  # two C scans; the usual case
        return text
    return _RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
