"""An issue rendered once: Markdown → HTML → nh3 → house layout → inlined CSS, and a text part.

The order matters: the editor's HTML is sanitised before it meets the layout (the layout's own
markup and `<style>` are ours and trusted), and CSS is inlined last, so sanitising never sees
(or strips) the layout's styles. The text part comes from the same Markdown tokens.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from functools import cache

import css_inline
import nh3
from flask import current_app, render_template
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from newsletter.compose.placeholders import (
    BY_PATH,
    NAME_FALLBACK,
    PLACEHOLDERS,
    replace_markers,
    to_markers,
)
from newsletter.models import Issue, IssueKind
from newsletter.tokens import make_token
from newsletter.urls import external_url

# The person a preview or a subject in the admin's lists shows when no real one is at hand.
SAMPLE_NAME, SAMPLE_EMAIL = "Sam Sample", "sam.sample@example.org"
# Gmail clips a message whose HTML passes about 102 KB; warn a little before.
SIZE_WARNING_BYTES = 100 * 1024
# House layouts in templates/email/ (issue_<name>.html and .txt), as offered in the editor.
LAYOUTS = {
    "default": "House style: the subject as a heading above the body",
    "plain": "Plain letter: the body alone, as a personal note",
}

# The explicit allowlist. Anything else is stripped (its text kept); script and style
# elements go with their content. URLs: http, https and mailto, and relative ones only so that
# a placeholder marker (letters and digits) survives as a link target until it is filled.
ALLOWED_TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "caption", "code", "del", "div", "em", "h1", "h2",
     "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span",
     "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"style", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
STYLE_PROPERTIES = frozenset(
    {"color", "background-color", "text-align", "font-weight", "font-style", "text-decoration",
     "width", "height", "margin", "padding", "border", "vertical-align"}
)  # fmt: skip


@dataclass(frozen=True)
class RenderedIssue:
    """The issue's subject, HTML and text; per-recipient placeholders are still markers."""

    subject: str
    html: str
    text: str

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode())

    @property
    def too_big(self) -> bool:
        return self.html_bytes > SIZE_WARNING_BYTES


@cache
def _markdown() -> MarkdownIt:
    # CommonMark with tables and strikethrough; raw HTML is let through to nh3, which decides.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def sanitise(html: str) -> str:
    """HTML reduced to the allowlist of tags, attributes, URL schemes and style properties."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        filter_style_properties=set(STYLE_PROPERTIES),
        clean_content_tags={"script", "style"},
    )


def markdown_to_html(source: str) -> str:
    """Markdown as sanitised HTML (a fragment)."""
    return sanitise(_markdown().render(source))


def _strip_tags(fragment: str) -> str:
    text = nh3.clean(fragment, tags=set(), clean_content_tags={"script", "style"})
    return html_lib.unescape(text)


def _inline_text(children) -> str:
    parts: list[str] = []
    links: list[tuple[int, str]] = []
    for token in children or []:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif token.type == "link_open":
            links.append((len(parts), str(token.attrGet("href") or "")))
        elif token.type == "link_close" and links:
            start, href = links.pop()
            if href and href != "".join(parts[start:]).strip() and not href.startswith("mailto:"):
                parts.append(f" ({href})")
        elif token.type == "image":
            parts.append(f"[{token.content or 'image'}]")
        elif token.type == "html_inline":
            parts.append(_strip_tags(token.content))
    return "".join(parts)


def markdown_to_text(source: str) -> str:
    """A plain-text reading of the Markdown: links spelt out, lists and quotes kept."""
    blocks: list[tuple[str, bool]] = []
    stack: list[list] = []  # ["quote"], ["list", ordered, next number], ["item", width]
    bullet: str | None = None
    tight = list_start = False

    def emit(text: str, joined: bool = False) -> None:
        nonlocal bullet
        lines = []
        for n, line in enumerate(text.rstrip("\n").split("\n")):
            prefix = "".join(
                "> " if f[0] == "quote" else " " * f[1] for f in stack if f[0] != "list"
            )
            if n == 0 and bullet is not None:
                prefix = prefix[: len(prefix) - len(bullet)] + bullet
            lines.append((prefix + line).rstrip())
        bullet = None
        blocks.append(("\n".join(lines), joined))

    for token in _markdown().parse(source):
        kind = token.type
        if kind == "inline":
            text = _inline_text(token.children)
            if stack and stack[-1][0] == "heading":
                level = stack.pop()[1]
                text = f"{text}\n{('=' if level == 1 else '-') * min(len(text), 70)}"
            emit(text, joined=tight)
        elif kind == "heading_open":
            stack.append(["heading", int(token.tag[1])])
        elif kind == "paragraph_open":
            # Items of a tight list follow each other line by line.
            tight, list_start = token.hidden and not list_start, False
        elif kind in ("bullet_list_open", "ordered_list_open"):
            list_start = True
            start = int(token.attrGet("start") or 1)
            stack.append(["list", kind == "ordered_list_open", start])
        elif kind == "list_item_open":
            frame = stack[-1]
            bullet = f"{frame[2]}. " if frame[1] else "- "
            frame[2] += 1
            stack.append(["item", len(bullet)])
        elif kind in ("list_item_close", "bullet_list_close", "ordered_list_close"):
            stack.pop()
        elif kind == "blockquote_open":
            stack.append(["quote"])
        elif kind == "blockquote_close":
            stack.pop()
        elif kind in ("fence", "code_block"):
            emit("\n".join("    " + line for line in token.content.rstrip("\n").split("\n")))
        elif kind == "html_block":
            text = _strip_tags(token.content).strip()
            if text:
                emit(text)
        elif kind == "hr":
            emit("-" * 20)
    return _join(blocks)


def _join(blocks: list[tuple[str, bool]]) -> str:
    out = ""
    for n, (text, joined) in enumerate(blocks):
        out += ("" if n == 0 else "\n" if joined else "\n\n") + text
    return out


def web_url(issue: Issue) -> str:
    """The issue's web version: the archive page when public, else a signed link (a welcome
    message is never in the archive: always the signed link)."""
    if is_public(issue) and issue.kind == IssueKind.ISSUE:
        return external_url("public.archive_issue", issue_id=issue.id)
    return external_url("public.web_version", token=make_token("web_version", {"i": issue.id}))


def is_public(issue: Issue) -> bool:
    """An issue goes in the public archive when every one of its lists is public."""
    return bool(issue.issue_lists) and all(ml.is_public for ml in issue.lists)


def _constants(issue: Issue, web: bool) -> dict[str, str]:
    """Marker → text of what is the same for every recipient (everything, in the web version)."""
    constants = {
        BY_PATH["list", "name"].marker: issue.primary_list.name,
        BY_PATH[("web_url",)].marker: web_url(issue),
    }
    if web:
        # The web version names nobody and carries no token.
        subscribe = external_url("public.subscribe")
        constants |= {
            BY_PATH["subscriber", "name"].marker: NAME_FALLBACK,
            BY_PATH["subscriber", "email"].marker: "your email address",
            BY_PATH[("unsubscribe_url",)].marker: subscribe,
            BY_PATH[("preferences_url",)].marker: subscribe,
        }
    return constants


def web_subject(issue: Issue) -> str:
    """The subject as the public sees it: the archive, the feed, the web version's title;
    never empty.

    The personal placeholders are left out, with the punctuation that joined them ("Spring
    news, {{ subscriber.name }}!" reads "Spring news!"), so no public title says "…, reader".
    """
    subject = to_markers(issue.subject, "Subject")
    for placeholder in PLACEHOLDERS:
        if placeholder.per_recipient:
            subject = _drop_marker(subject, placeholder.marker)
    title = replace_markers(subject, _constants(issue, web=True)).strip()
    # A subject made only of personal placeholders leaves nothing: the archive's link would
    # be empty and the feed's entry invalid, so the issue is named by its list and number.
    return title or f"{issue.primary_list.name}: issue {issue.id}"


_SEPARATORS = ",;:–—-"


def _drop_marker(text: str, marker: str) -> str:
    if marker not in text:
        return text
    # At the start, the separator after it goes; elsewhere, the one before it.
    text = re.sub(rf"^\s*{marker}\s*[{_SEPARATORS}]?\s*", "", text)
    text = re.sub(rf"\s*[{_SEPARATORS}]?\s*{marker}", "", text)
    text = re.sub(r"[(\[]\s*[)\]]", "", text)  # brackets left empty
    text = re.sub(r"\s+([!?.,;:)])", r"\1", " ".join(text.split()))
    text = text.strip(_SEPARATORS + " ")
    return text[:1].upper() + text[1:]


def sample_subject(issue: Issue) -> str:
    """The subject as a reader would see it, for the admin's lists: a sample person's name."""
    values = {
        BY_PATH["subscriber", "name"].marker: SAMPLE_NAME,
        BY_PATH["subscriber", "email"].marker: SAMPLE_EMAIL,
        BY_PATH[("unsubscribe_url",)].marker: external_url("public.subscribe"),
        BY_PATH[("preferences_url",)].marker: external_url("public.subscribe"),
    }
    return replace_markers(to_markers(issue.subject, "Subject"), _constants(issue, False) | values)


_PRE = re.compile(r"(<pre\b.*?</pre>)", re.S | re.I)
_LINE_BREAK = re.compile(r"[ \t]*\r?\n\s*")


def _pack_lines(html: str) -> str:
    """The HTML with its line breaks outside <pre> as single spaces, which render the same.

    The quoted-printable encoder then fills lines to 76 characters: a layout's many short lines
    would otherwise each cost a line, and receiving servers (aiosmtpd among them) read DATA a
    line at a time.
    """
    pieces = _PRE.split(html)
    return "".join(p if n % 2 else _LINE_BREAK.sub(" ", p) for n, p in enumerate(pieces))


def render_issue(issue: Issue, web: bool = False) -> RenderedIssue:
    """Render the issue once; `web` gives the web version, with no personal data or tokens."""
    config = current_app.config
    # The web version is public: its title leaves the personal placeholders out.
    subject = web_subject(issue) if web else to_markers(issue.subject, "Subject")
    body = to_markers(issue.body_markdown or "", "Body")
    constants = _constants(issue, web)
    layout = issue.layout if issue.layout in LAYOUTS else "default"
    context = {
        "subject": subject,
        "preheader": issue.preheader,
        "list_names": ", ".join(ml.name for ml in issue.lists),
        "org_name": config["ORG_NAME"],
        "org_address": config["ORG_ADDRESS"],
        "unsubscribe_url": BY_PATH[("unsubscribe_url",)].marker,
        "preferences_url": BY_PATH[("preferences_url",)].marker,
        "privacy_url": external_url("public.privacy"),
        "web_url": BY_PATH[("web_url",)].marker,
        "web": web,
        "site_url": external_url("public.home") if web else "",
        "archive_url": external_url("public.archive_index") if web else "",
        "subscribe_url": external_url("public.subscribe") if web else "",
    }
    html = render_template(
        f"email/issue_{layout}.html", body_html=Markup(markdown_to_html(body)), **context
    )
    html = _pack_lines(css_inline.inline(html, load_remote_stylesheets=False, keep_at_rules=True))
    text = render_template(f"email/issue_{layout}.txt", body_text=markdown_to_text(body), **context)
    html_constants = {marker: str(escape(value)) for marker, value in constants.items()}
    return RenderedIssue(
        subject=replace_markers(subject, constants),
        html=replace_markers(html, html_constants),
        text=replace_markers(text, constants),
    )
