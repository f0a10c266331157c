"""Likely typing mistakes in a sign-up's domain: "ann@gmail.con" gets "did you mean ann@gmail.com?".

A pure function of the text typed: it reads no database and no setting, so the sign-up form's
answer still tells nothing about any address (docs/architecture.md, "Nothing about an address
leaks"). A domain is compared with a short list of mail providers people in the UK use, split
into a name and a suffix ("hotmail" and "co.uk"):

- a domain on the list, or one whose suffix is a real one other than the provider's (a country
  variant such as yahoo.ca), is left alone;
- otherwise the closest provider with the same suffix, or with a suffix one or two typing
  mistakes away when the typed suffix is not a real one (".con", ".cmo", ".co.uj"), is offered,
  when the names are within one typing mistake (names of five or six letters) or two (longer
  names); names of four letters or fewer (live, aol, sky, gmx) are only ever corrected in
  their suffix, as a short real domain is often a letter away from one of them (lime.com).

Typing mistakes are counted as Damerau-Levenshtein distance (optimal string alignment): a
letter added, dropped, changed, or two neighbours swapped ("hotmial") each count one.
"""

from __future__ import annotations

# Providers, roughly the most used first: a tie between two goes to the earlier one.
PROVIDERS = (
    "gmail.com",
    "hotmail.co.uk",
    "hotmail.com",
    "outlook.com",
    "yahoo.co.uk",
    "yahoo.com",
    "icloud.com",
    "btinternet.com",
    "live.co.uk",
    "live.com",
    "googlemail.com",
    "aol.com",
    "aol.co.uk",
    "sky.com",
    "virginmedia.com",
    "talktalk.net",
    "ntlworld.com",
    "blueyonder.co.uk",
    "btopenworld.com",
    "tiscali.co.uk",
    "msn.com",
    "me.com",
    "mac.com",
    "ymail.com",
    "rocketmail.com",
    "protonmail.com",
    "proton.me",
    "pm.me",
    "gmx.com",
    "gmx.co.uk",
    "mail.com",
    "email.com",
    "fastmail.com",
    "zoho.com",
    "nhs.net",
)
_KNOWN = frozenset(PROVIDERS)

# Real suffixes a sign-up's domain plausibly ends with; a typed suffix among them is taken as
# meant. Left out on purpose: "co", "cm" and "om", real but far more often ".com" mistyped.
REAL_SUFFIXES = frozenset(
    {
        "com", "net", "org", "edu", "gov", "int", "info", "biz", "email", "io", "me", "eu",
        "uk", "co.uk", "org.uk", "ac.uk", "gov.uk", "nhs.uk", "sch.uk", "me.uk", "ltd.uk",
        "plc.uk", "net.uk", "police.uk", "mod.uk", "scot", "wales", "cymru", "london",
        "ie", "fr", "de", "es", "it", "nl", "be", "pt", "ch", "at", "se", "no", "dk", "fi",
        "pl", "us", "ca", "au", "nz", "in", "jp", "cn", "br", "mx", "za",
        "com.au", "co.nz", "co.in", "co.za", "co.jp",
    }
)  # fmt: skip


def suggest(address: str) -> str | None:
    """The address with its domain corrected, when the domain looks mistyped; else None."""
    local, at, domain = address.strip().rpartition("@")
    domain = domain.lower()
    if not at or not local or domain in _KNOWN or len(domain) > 100:
        return None
    best: tuple[int, str] | None = None
    for provider in PROVIDERS:
        distance = _mistakes(domain, provider)
        if distance is not None and (best is None or distance < best[0]):
            best = (distance, provider)
    return f"{local}@{best[1]}" if best else None


def _mistakes(domain: str, provider: str) -> int | None:
    """How many typing mistakes turn `domain` into `provider`, if few enough to suggest it."""
    name, _, suffix = provider.partition(".")
    labels = domain.split(".")
    depth = suffix.count(".") + 1
    if len(labels) <= depth:
        return None
    typed_name, typed_suffix = ".".join(labels[:-depth]), ".".join(labels[-depth:])
    if typed_suffix == suffix:
        suffix_mistakes = 0
    elif typed_suffix in REAL_SUFFIXES:
        return None  # a real suffix, as typed: another country's provider, or another's site
    else:
        suffix_mistakes = distance(typed_suffix, suffix)
    allowed = 0 if len(name) <= 4 else 1 if len(name) <= 6 else 2
    name_mistakes = distance(typed_name, name)
    if name_mistakes > allowed or suffix_mistakes > 2 or name_mistakes + suffix_mistakes > 2:
        return None
    return name_mistakes + suffix_mistakes


def distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment) between two short strings."""
    if abs(len(a) - len(b)) > 2:
        return 3  # more than any suggestion allows; no need to count exactly
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]
