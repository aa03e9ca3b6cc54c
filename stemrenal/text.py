"""Text safety and the small wording rules every message shares, in one place.

Registry text is data that ends up on terminals, in tables and in messages. One set of
characters is unsafe there (C0/C1 controls, line and paragraph separators, bidi overrides):
the registry rejects it (`reject_controls`), writers strip it (`strip_controls`) and messages
escape it (`escape_controls`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

#: Characters that could restyle a terminal, reorder text or break a line it is shown on, and
#: the invisible ones that could hide text from a reader or from --search: bidi marks (ALM,
#: LRM, RLM), zero-width characters, word joiners, the byte-order mark, the soft hyphen,
#: Hangul fillers, variation selectors and tag characters (Unicode's Bidi_Control and
#: Default_Ignorable_Code_Point). Tab and newline are not in it: multiline fields may hold
#: them (writers fold them).
_UNSAFE = (
    r"\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    r"\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    r"\U000e0000-\U000e0fff"
)
CONTROL = re.compile(f"[{_UNSAFE}]")
#: In a one-line message, tabs and newlines are unsafe too.
_IN_MESSAGE = re.compile(f"[\t\n{_UNSAFE}]")
_LINE_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\u2028\u2029]+")


class JSONText:
    """A record already serialised as compact JSON (the cache stores studies so): JSON output
    writes it as it is, or re-indents it, instead of encoding it again."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def first_control(value: str) -> str | None:
    """A description of the first unsafe character in `value` ("U+001B ESCAPE"), or None."""
    bad = CONTROL.search(value)
    if bad is None:
        return None
    code = ord(bad.group())
    return f"U+{code:04X} {unicodedata.name(bad.group(), 'control character')}"


def strip_controls(value: str, multiline: bool = False) -> str:
    """Remove unsafe characters; fold line breaks into spaces unless `multiline`.

    Multiline text keeps its newlines but not its tabs: a table cannot show a tab (Rich measures
    it as zero width and crops the text after it).
    """
    if value.isascii() and value.isprintable():  # most cells: nothing to remove
        return value
    if not multiline:
        value = _LINE_BREAKS.sub(" ", value)
    return CONTROL.sub("", value.replace("\r\n", "\n").replace("\t", " "))


def escape_controls(text: str, longest: int | None = None) -> str:
    """Text fit for a one-line message: unsafe characters escaped (as \\x1b), long text cut."""
    if longest is not None and len(text) > longest:
        text = text[: longest - 3] + "..."
    return _IN_MESSAGE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def quoted(value: object, longest: int = 60) -> str:
    """A value quoted for a message, cut short: a hostile registry can hold a megabyte."""
    shown = repr(value)
    return shown if len(shown) <= longest + 2 else shown[:longest] + "..."


def did_you_mean(close: Sequence[str], *, in_data: bool = False) -> str:
    """The hint after an unknown name: " Did you mean: a, b?" ("" when nothing is close).

    `in_data` gives the lower-case form that continues a registry problem's message:
    "; did you mean 'a', 'b'?".
    """
    if not close:
        return ""
    if in_data:
        return f"; did you mean {', '.join(repr(c) for c in close)}?"
    return f" Did you mean: {', '.join(close)}?"


def plural_of(noun: str) -> str:
    """ "study" -> "studies", "cell-class" -> "cell-classes", "problem" -> "problems"."""
    if noun.endswith("y"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def plural(count: int, noun: str) -> str:
    """ "1 study", "2 studies", "3 problems"."""
    return f"{count} {noun if count == 1 else plural_of(noun)}"


_WIDE = ("W", "F")
_NO_LINE_START = set("，。、；：？！）》」』,.;:?!)]")


def _cells(text: str) -> int:
    """Terminal columns a text takes: wide (CJK) characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in _WIDE else 1 for ch in text)


def wrap(text: str, width: int = 78, first: str = "", rest: str = "") -> list[str]:
    """Lines of at most `width` columns, for mixed English and Chinese text: words are kept
    whole, Chinese may break between any two characters, but never before its punctuation."""
    import re

    tokens = re.findall(
        r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+|\s+",
        text,
    )
    lines: list[str] = []
    line, used = first, _cells(first)
    for index, token in enumerate(tokens):
        if token.isspace():
            if used > _cells(rest if lines else first):
                line, used = line + " ", used + 1
            continue
        size = _cells(token)
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if following and following[0] in _NO_LINE_START:  # keep the punctuation with it
            size += _cells(following)
        if used + size > width and line.strip() and token[0] not in _NO_LINE_START:
            lines.append(line.rstrip())
            line, used = rest, _cells(rest)
        line, used = line + token, used + _cells(token)
    lines.append(line.rstrip())
    return lines


def safe_url(url: str) -> str:
    """A URL as a Markdown or HTML link target that cannot end the link or open markup: a
    crafted DOI (`10.1/x)<script>`) stays one percent-encoded target."""
    from urllib.parse import quote

    return quote(strip_controls(url), safe=":/?=&%#~+,;@!*'$")
