"""The words a person can see on a rendered page, one line per block, for consent evidence."""

from __future__ import annotations

import re
from html.parser import HTMLParser


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Elements that start a new line of text; anything else (a, span, strong…) runs on in its line.
_BLOCKS = _names(
    "address article aside blockquote br button dd details div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr label legend li main nav ol option p pre section "
    "select summary table td textarea th tr ul"
)
# Elements whose content is never shown as text.
_NEVER_SHOWN = _names("head noscript script style template title")
# Elements with no end tag: they cannot hold text, so they never open a hidden region.
_VOID = _names("area base br col embed hr img input link meta param source track wbr")
_SPACE = re.compile(r"\s+")


def _hidden(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    found = dict(attrs)
    return (
        tag in _NEVER_SHOWN
        or "hidden" in found
        or (found.get("aria-hidden") or "").strip().lower() == "true"
    )


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, hidden) of each open element
        self._hidden_depth = 0  # open elements that hide their content

    def _end_line(self) -> None:
        text = _SPACE.sub(" ", "".join(self._line)).strip()
        if text:
            self.lines.append(text)
        self._line.clear()

    def handle_starttag(self, tag, attrs) -> None:
        if tag in _BLOCKS and not self._hidden_depth:
            self._end_line()
        if tag in _VOID:
            return
        hidden = _hidden(tag, attrs)
        self._open.append((tag, hidden))
        self._hidden_depth += hidden

    def handle_startendtag(self, tag, attrs) -> None:
        if tag in _BLOCKS and not self._hidden_depth:
            self._end_line()

    def handle_endtag(self, tag) -> None:
        # Close up to the matching element; a stray end tag closes nothing.
        if not any(open_tag == tag for open_tag, _ in self._open):
            return
        while self._open:
            open_tag, hidden = self._open.pop()
            self._hidden_depth -= hidden
            if open_tag == tag:
                break
        if tag in _BLOCKS and not self._hidden_depth:
            self._end_line()

    def handle_data(self, data) -> None:
        if not self._hidden_depth:
            self._line.append(data)

    def close(self) -> None:
        super().close()
        self._end_line()


def visible_text(html: str) -> str:
    """The text of `html` as shown: one line per block, whitespace collapsed.

    Left out: elements marked `hidden` or `aria-hidden="true"` (such as a honeypot field),
    scripts, styles and the head, and every attribute (field values, hidden inputs' tokens).
    Text hidden only by a stylesheet class cannot be seen here; keep such text out of the
    markup given, or mark it with one of the attributes above.
    """
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.lines)
