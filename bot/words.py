"""Words, quotes and deadline references: the pieces every command's parser reads with.

A ``<ref>`` is ``D3``, ``d3`` or ``3`` (a deadline number), or else the start of a
title; quote it (``"Signed usage"``, curly quotes too) where more words follow it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bot.errors import GrammarError

MAX_NUMBER_DIGITS = 9  # deadline numbers fit every database's integer column


@dataclass(frozen=True, slots=True)
class Ref:
    """A deadline reference: ``number`` for ``D3``/``3``, else a title ``prefix``."""

    number: int | None
    prefix: str


OPENING_QUOTES = '"\u201c'
CLOSING_QUOTES = '"\u201d'
NUMBER_RE = re.compile(r"[dD]?([0-9]+)")


def split_first(text: str) -> tuple[str, str]:
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], (parts[1].strip() if len(parts) > 1 else "")


def starts_quoted(text: str) -> bool:
    return bool(text) and text[0] in OPENING_QUOTES


def take_quoted_text(text: str, *, said: str, hint: str) -> tuple[str, str]:
    """``'"a b" rest'`` -> ``("a b", "rest")``; straight and curly quotes pair either way."""
    end = next((i for i in range(1, len(text)) if text[i] in CLOSING_QUOTES), -1)
    if end < 0:
        raise GrammarError(f"{said} opens a quote that is never closed.", hint=hint)
    return text[1:end], text[end + 1 :].strip()


def take_quoted(text: str, *, said: str, hint: str) -> tuple[Ref, str]:
    inside, rest = take_quoted_text(text, said=said, hint=hint)
    prefix = " ".join(inside.split())
    if not prefix:
        raise GrammarError(f"{said} quotes an empty title.", hint=hint)
    return Ref(number=None, prefix=prefix), rest


def take_ref(text: str, *, said: str, hint: str) -> tuple[Ref, str]:
    """A reference of one word or in quotes, and what follows it."""
    if starts_quoted(text):
        return take_quoted(text, said=said, hint=hint)
    token, rest = split_first(text)
    return read_ref(token, said=said, hint=hint), rest


def whole_ref(text: str, *, said: str, hint: str) -> Ref:
    """A reference that is all of ``text`` (nothing follows it, so several words are fine)."""
    if not text.strip():
        raise GrammarError(
            "Which deadline? Give its number (D1) or the start of its title.", hint=hint
        )
    if starts_quoted(text.strip()):
        ref, rest = take_quoted(text.strip(), said=said, hint=hint)
        if rest:
            raise GrammarError(
                f"I didn't expect {quote(rest)} after the title in {said}.", hint=hint
            )
        return ref
    return read_ref(text, said=said, hint=hint)


def read_ref(text: str, *, said: str, hint: str) -> Ref:
    """``D3``/``d3``/``3`` -> a number; anything else is the start of a title."""
    text = " ".join(text.split())
    match = NUMBER_RE.fullmatch(text)
    if match is None:
        return Ref(number=None, prefix=unquote(text))
    if len(match.group(1)) > MAX_NUMBER_DIGITS:
        raise GrammarError(f"{quote(text)} in {said} is not a deadline number.", hint=hint)
    return Ref(number=int(match.group(1)), prefix="")


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] in OPENING_QUOTES and text[-1] in CLOSING_QUOTES:
        return " ".join(text[1:-1].split())
    return text


def unknown(said: str, word: str, forms: dict[str, tuple[str, str]], hint: str) -> GrammarError:
    close = difflib.get_close_matches(word, list(forms), n=1, cutoff=0.6)
    suggestion = f' Did you mean "{close[0]}"?' if close else ""
    return GrammarError(f"I don't know {quote(said)}.{suggestion}", hint=hint)


def quote(text: str) -> str:
    text = " ".join(text.split())
    return f'"{text if len(text) <= 80 else text[:77] + "..."}"'
