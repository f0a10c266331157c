"""The fixed set of placeholders an editor may use, checked and turned into markers.

The editor's subject and body are Jinja templates, but only in the narrowest sense: a template
may hold text and the placeholders of `PLACEHOLDERS`, nothing else. The template is parsed and
its syntax tree checked node by node before anything renders, so control flow, filters, calls,
unknown names and attribute walks (`''.__class__…`, `cycler.__init__…`) are refused with a
sentence naming the line. What passes is rendered once in a `SandboxedEnvironment` with
autoescape on, each placeholder becoming a marker (letters and digits only, so Markdown,
sanitising, CSS inlining and quoted-printable leave it alone) that the delivery engine replaces
per recipient, escaped for each part.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from newsletter.errors import ValidationError


@dataclass(frozen=True)
class Placeholder:
    path: tuple[str, ...]
    marker: str
    meaning: str
    # Per recipient (filled by the delivery engine) or per issue (filled once when rendering).
    per_recipient: bool = True

    @property
    def source(self) -> str:
        return "{{ " + ".".join(self.path) + " }}"


PLACEHOLDERS = (
    Placeholder(
        ("subscriber", "name"),
        "NLsubscriberName3k",
        "the person's name, or “reader” when we have none",
    ),
    Placeholder(("subscriber", "email"), "NLsubscriberEmail8w", "the person's email address"),
    Placeholder(("list", "name"), "NLlistName5p", "the name of the issue's primary list", False),
    Placeholder(("unsubscribe_url",), "NLunsubscribeURL7q", "the person's unsubscribe link"),
    Placeholder(("preferences_url",), "NLpreferencesURL2m", "the person's preferences link"),
    Placeholder(
        ("web_url",), "NLwebVersionURL6d", "the issue's web version (no personal data)", False
    ),
)
BY_PATH = {p.path: p for p in PLACEHOLDERS}
MARKERS = tuple(p.marker for p in PLACEHOLDERS)
NAME_FALLBACK = "reader"
PLACEHOLDER_LIST = ", ".join(p.source for p in PLACEHOLDERS)

_ENV = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)


class TemplateProblem(ValidationError):
    """The editor's text uses something other than the fixed placeholders."""


def _path(node: nodes.Node) -> tuple[str, ...] | None:
    """`subscriber.name` as ("subscriber", "name"); None for anything but names and dots."""
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        parent = _path(node.node)
        return (*parent, node.attr) if parent is not None else None
    return None


def _refuse(field: str, lineno: int, sentence: str) -> TemplateProblem:
    return TemplateProblem(f"{field}, line {lineno}: {sentence}")


def _check_expression(field: str, node: nodes.Node) -> None:
    path = _path(node)
    if path is None:
        raise _refuse(
            field,
            node.lineno,
            "only the placeholders in double braces may be used, without filters, "
            f"calls or sums ({PLACEHOLDER_LIST})",
        )
    if path not in BY_PATH:
        raise _refuse(
            field,
            node.lineno,
            f"{{{{ {'.'.join(path)} }}}} is not a placeholder; use one of {PLACEHOLDER_LIST}",
        )


def check_template(source: str, field: str = "Body") -> nodes.Template:
    """The parsed template, or TemplateProblem naming the line of the first thing refused."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as error:
        message = error.message or "the braces do not match"
        raise _refuse(
            field, error.lineno, f"{message[:1].lower()}{message[1:]} (check the braces)"
        ) from error
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            raise _refuse(
                field,
                node.lineno,
                "{% … %} blocks (if, for, set and the like) are not allowed; "
                "write {{ placeholder }} or plain text",
            )
        for child in node.nodes:
            if not isinstance(child, nodes.TemplateData):
                _check_expression(field, child)
    return tree


def to_markers(source: str, field: str = "Body") -> str:
    """The editor's text with each placeholder replaced by its marker (checked first)."""
    tree = check_template(source, field)
    context = {
        "subscriber": {"name": Markup(BY_PATH["subscriber", "name"].marker),
                       "email": Markup(BY_PATH["subscriber", "email"].marker)},
        "list": {"name": Markup(BY_PATH["list", "name"].marker)},
        "unsubscribe_url": Markup(BY_PATH[("unsubscribe_url",)].marker),
        "preferences_url": Markup(BY_PATH[("preferences_url",)].marker),
        "web_url": Markup(BY_PATH[("web_url",)].marker),
    }  # fmt: skip
    return _ENV.from_string(tree).render(context)


def replace_markers(text: str, values: dict[str, str]) -> str:
    """`text` with the markers named in `values` (marker → text) replaced."""
    for marker, value in values.items():
        if marker in text:
            text = text.replace(marker, value)
    return text
