"""The embeddable sign-up form's two allow-lists: the sites it may be posted from (origins) and
the thank-you pages it may lead to. Parsing what an admin types, and checking a request.

An origin is compared as browsers send it in the `Origin` header: lower-case scheme, the host
in its ASCII (IDNA) form, and the port only when it is not the scheme's default. A thank-you
page is a full URL compared whole, after the same normalising of its scheme, host and port.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

import idna

from newsletter.errors import ValidationError

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ENTRIES = 50
MAX_URL_LENGTH = 2000


def _host(parts: SplitResult, shown: str) -> str:
    """The URL's host in the ASCII form a browser sends; raises ValidationError."""
    host = parts.hostname or ""
    if not host:
        raise ValidationError(f"“{shown}” has no site name after the //")
    if ":" in host:
        return f"[{host}]"  # an IPv6 literal (urlsplit lower-cases it and drops the brackets)
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise ValidationError(f"“{shown}” does not name a valid site") from None


def _netloc(parts: SplitResult, shown: str) -> str:
    host = _host(parts, shown)
    try:
        port = parts.port
    except ValueError:
        raise ValidationError(
            f"“{shown}” has a port that is not a number from 1 to 65535"
        ) from None
    if port is not None and port != DEFAULT_PORTS[parts.scheme]:
        return f"{host}:{port}"
    return host


def _split(text: str, shown: str) -> SplitResult:
    if len(text) > MAX_URL_LENGTH:
        raise ValidationError(f"An address must be {MAX_URL_LENGTH} characters or fewer")
    if any(c.isspace() or ord(c) < 32 for c in text):
        raise ValidationError(f"“{shown}” must not contain spaces")
    parts = urlsplit(text)
    if parts.scheme.lower() not in DEFAULT_PORTS or not text.lower().startswith(
        parts.scheme.lower() + "://"
    ):
        raise ValidationError(f"“{shown}” must start with https:// (or http://)")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(f"“{shown}” must not hold a user name or password")
    return parts._replace(scheme=parts.scheme.lower())


def parse_origin(text: str) -> str:
    """A site as scheme://host[:port] (no path), normalised; raises ValidationError."""
    shown = text.strip()
    parts = _split(shown, shown)
    if parts.path not in ("", "/") or parts.query or parts.fragment or shown.endswith(("?", "#")):
        raise ValidationError(
            f"“{shown}” is not just a site: give it as {parts.scheme}://{parts.hostname or 'host'}"
            ", with no path after the site name"
        )
    return f"{parts.scheme}://{_netloc(parts, shown)}"


def parse_thanks_url(text: str, *, allow_http: bool) -> str:
    """A thank-you page's full URL, scheme and host normalised; raises ValidationError.

    https only, unless `allow_http` (the app itself is served over http: development, tests).
    """
    shown = text.strip()
    parts = _split(shown, shown)
    if parts.scheme != "https" and not allow_http:
        raise ValidationError(f"“{shown}” must start with https://")
    return parts._replace(netloc=_netloc(parts, shown), fragment="").geturl() + (
        "/" if not parts.path and not parts.query else ""
    )


def parse_lines(text: str, parse) -> list[str]:
    """Each non-blank line parsed, duplicates dropped, in the order typed."""
    found: list[str] = []
    for line in text.splitlines():
        if line.strip():
            value = parse(line)
            if value not in found:
                found.append(value)
    if len(found) > MAX_ENTRIES:
        raise ValidationError(f"Give at most {MAX_ENTRIES} addresses")
    return found


def origin_of(url: str) -> str | None:
    """The origin of a URL (a Referer), normalised; None when it has none we can use."""
    try:
        return parse_origin(_origin_part(url))
    except ValidationError:
        return None


def _origin_part(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}"


def request_origin(origin_header: str | None, referer_header: str | None) -> str | None:
    """Where a POST came from: its `Origin`, else its `Referer`'s origin; None when neither says.

    `Origin: null` (a sandboxed frame, a file, a privacy setting) names no site.
    """
    origin = (origin_header or "").strip()
    if origin and origin != "null":
        try:
            return parse_origin(origin)  # a browser's Origin is a bare origin, never a URL
        except ValidationError:
            return None
    if referer_header:
        return origin_of(referer_header)
    return None


def thanks_target(requested: str | None, allowed: Iterable[str], *, allow_http: bool) -> str | None:
    """The thank-you page to redirect to: `requested` when it is allow-listed, else None."""
    if not requested:
        return None
    try:
        target = parse_thanks_url(requested, allow_http=allow_http)
    except ValidationError:
        return None
    return target if target in set(allowed) else None
