"""Direction controls in a name closed where the name ends, so it cannot turn what follows.

A name is shown inside other text: a row of an admin page, "Dear {name}," in a mail, a
From or To header. A RIGHT-TO-LEFT OVERRIDE (U+202E) left open in it reverses every letter
after it, in the page or mail around it, until the paragraph ends; an isolate (U+2066 to
U+2068) left open makes the rest one block of the name's direction. People do type these
(a name copied from right-to-left text brings them along) and an import must not fail a whole
file for one, so they are not refused: each one the name opens and does not close is closed
at its end (PDF U+202C for an embedding or override, PDI U+2069 for an isolate), and a
closing one with nothing to close is dropped. What the name shows within itself is unchanged.
"""

from __future__ import annotations

_EMBEDDINGS = frozenset("\u202a\u202b\u202d\u202e")  # LRE, RLE, LRO, RLO
_ISOLATES = frozenset("\u2066\u2067\u2068")  # LRI, RLI, FSI
_PDF = "\u202c"
_PDI = "\u2069"
_ALL = _EMBEDDINGS | _ISOLATES | {_PDF, _PDI}


def close_bidi(text: str, max_length: int | None = None) -> str:
    """`text` with every direction embedding, override or isolate it opens closed (above);
    with `max_length`, cut short first where the closing characters would pass it."""
    if not any(char in _ALL for char in text):
        return text
    closed = _closed(text)
    while max_length is not None and len(closed) > max_length:
        text = text[: len(text) - (len(closed) - max_length)]
        closed = _closed(text)
    return closed


def _closed(text: str) -> str:
    out: list[str] = []
    open_: list[str] = []
    for char in text:
        if char in _EMBEDDINGS or char in _ISOLATES:
            open_.append(char)
        elif char == _PDF:
            # Closes the latest embedding, unless an isolate opened after it (as UAX #9).
            if not open_ or open_[-1] not in _EMBEDDINGS:
                continue
            open_.pop()
        elif char == _PDI:
            # Closes the latest isolate and every embedding opened inside it.
            if not any(opened in _ISOLATES for opened in open_):
                continue
            while open_.pop() not in _ISOLATES:
                pass
        out.append(char)
    out.extend(_PDI if opened in _ISOLATES else _PDF for opened in reversed(open_))
    return "".join(out)
