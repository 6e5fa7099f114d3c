"""Make strings from strangers safe to print.

Titles, symbols, URLs, error messages and Content-Types come from servers and PDFs we do not
control. Printed raw they can recolour or rewrite a terminal (ANSI/OSC escapes, including OSC 8
hyperlinks and OSC 52 clipboard writes), reorder text (bidi overrides, "Trojan Source"), break an
XML file (C0 controls are illegal in XML 1.0), a line-oriented format (newlines), or be acted on by a
CI runner (GitHub workflow commands). Every format passes such strings through one of these
functions before output.
"""
from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), string commands OSC/DCS/SOS/PM/APC up to BEL or
# ST, and the two-byte Fe/Fp/Fs escapes; plus the 8-bit C1 forms of CSI and of the string commands.
_ANSI = re.compile(
    r"""
      \x1b\[ [0-?]* [ -/]* [@-~]                       # CSI
    | \x1b[\]PX^_] .*? (?:\x07|\x1b\\|\x9c|$)         # OSC, DCS, SOS, PM, APC ... BEL|ST|end
    | \x1b [ -/]* [0-~]                                # other escapes (nF, Fp, Fe, Fs)
    | \x9b [0-?]* [ -/]* [@-~]                         # 8-bit CSI
    | [\x90\x98\x9d\x9e\x9f] .*? (?:\x07|\x9c|\x1b\\|$)  # 8-bit string commands
    """,
    re.VERBOSE | re.DOTALL,
)

# Bidirectional embeddings, overrides and isolates: they can make displayed text differ from
# its logical order. Plain marks (LRM, RLM, ALM) are harmless and kept.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

# Every C0 control but TAB/LF/CR, DEL, every C1 control, the bidi controls, and the code points
# XML 1.0 forbids (lone surrogates, U+FFFE, U+FFFF).
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _BIDI + "\ud800-\udfff\ufffe\uffff]"
)
_WHITESPACE = re.compile(r"\s+")

# GitHub Actions reads every line a job prints: ``::command::`` at the start of a line (leading
# blanks allowed) and the legacy ``##[command]`` anywhere in it are acted on (set an error, mask,
# stop reading commands…). Stranger text may land at a line's start wherever a format or rich's
# word wrap breaks a line, so a ``::`` beginning a word is broken up too: ": :" and "## [" read
# the same to a person and are inert to the runner.
_WORKFLOW_COMMAND = re.compile(r"(?:(?<=\s)|^)::|##\[", re.MULTILINE)


def inert_commands(text: str) -> str:
    """``text`` with nothing a GitHub Actions runner would take for a workflow command."""
    if "::" not in text and "##[" not in text:
        return text
    return _WORKFLOW_COMMAND.sub(lambda m: ": :" if m.group() == "::" else "## [", text)


def strip_escapes(text: str) -> str:
    """Remove terminal escape sequences and control characters; keep TAB, LF and CR."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def clean(text: str | None) -> str:
    """One safe line: escapes and controls removed, runs of whitespace (newlines too) → one space."""
    if not text:
        return ""
    return inert_commands(_WHITESPACE.sub(" ", strip_escapes(text)).strip())


def clean_block(text: str | None) -> str:
    """Safe multi-line text: escapes and controls removed, newlines kept (CRLF/CR → LF)."""
    if not text:
        return ""
    return inert_commands(strip_escapes(text).replace("\r\n", "\n").replace("\r", "\n"))
