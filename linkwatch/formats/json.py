"""JSON format: the lossless, machine-readable report (see docs/report-schema.json)."""
from __future__ import annotations

import json
import re

from ..report import Report

# json.dumps(ensure_ascii=False) escapes C0 controls but writes DEL, C1 controls (0x9b is an
# 8-bit CSI), bidi overrides and U+2028/2029 raw. Escaping them as \uXXXX keeps the data exact
# (JSON round-trips it) while `cat report.json` can no longer drive a terminal. They can only
# occur inside JSON strings, so replacing them everywhere is safe.
_RAW_CONTROLS = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def render(report: Report, *, color: bool = False, width: int | None = None,
           fail_on: str = "error") -> str:
    """The report as indented UTF-8 JSON, ending with a newline."""
    text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    return _RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"
