"""Reading pages as a browser would: elements and their attributes, with the standard parser."""

from __future__ import annotations

from html.parser import HTMLParser


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def elements(page: str, tag: str, **wanted: str) -> list[dict[str, str]]:
    """Attributes of every `tag` element whose attributes include `wanted`.

    Keyword names follow Python: `class_` for class, `for_` for for, `aria_hidden` for aria-hidden.
    """
    collector = _Collector()
    collector.feed(page)
    wanted = {name.rstrip("_").replace("_", "-"): value for name, value in wanted.items()}
    return [
        attrs
        for name, attrs in collector.elements
        if name == tag and all(attrs.get(k) == v for k, v in wanted.items())
    ]


def element(page: str, tag: str, **wanted: str) -> dict[str, str]:
    """The one `tag` element matching `wanted`; fails if there is not exactly one."""
    found = elements(page, tag, **wanted)
    assert len(found) == 1, f"expected one <{tag} {wanted}>, found {len(found)}"
    return found[0]


def main_content(page: str) -> str:
    """The part of the page inside <main>, without header and footer."""
    start = page.index("<main")
    return page[start : page.index("</main>", start)]
