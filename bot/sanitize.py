"""Control characters out of user text, before anything reads or stores it.

Every text a person types or submits passes through ``strip_controls`` at the
core's edge (the grammar's entry points and the position form), so no field
Parley stores or shows carries:

- C0 controls (U+0000–U+001F) and DEL (U+007F): NUL cannot be stored by
  PostgreSQL, ESC and BEL would drive a terminal, and RFC 5545 forbids them
  in calendar text. A tab reads as a space and a carriage return as a newline;
  the newline itself stays (terms may have several lines, and every other
  field folds its whitespace into single spaces);
- C1 controls (U+0080–U+009F);
- bidirectional embeddings, overrides and isolates (U+202A–U+202E,
  U+2066–U+2069), which can make a title read backwards ("Trojan Source").

They are removed, not refused: a pasted text keeps working, and what is left
is what was meant. The marks U+200E/U+200F stay (they change no order).
"""

from __future__ import annotations

import re

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """``text`` without control or bidi-override characters (newlines kept)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROLS.sub("", text)


def has_controls(text: str) -> bool:
    """Whether ``text`` holds anything ``strip_controls`` would take out (newlines too)."""
    return "\n" in text or "\t" in text or _CONTROLS.search(text) is not None
