"""Text searches that ignore case the same way on SQLite and PostgreSQL, ß and final ς included.

The searches compare `lower(column) LIKE pattern`. The subscribers' trigram index (migration
0005) is on `email_key || ' ' || lower(name)`, and a LIKE on that very expression is what it
serves, so the database side stays lower(). But lower() is not a case fold:

- lower('Straße') is 'straße' and lower('STRASSE') is 'strasse', where Python's casefold()
  makes both 'strasse';
- lower() keeps a typed final sigma 'ς', and PostgreSQL lowers a capital 'Σ' to 'σ' at the end
  of a word too (one letter at a time: lower('ΕΛΈΝΗΣ') is 'ελένησ'), where SQLite's lower(),
  Python's (newsletter/extensions.py), gives 'ελένης'; casefold() makes every sigma 'σ'.

Folding the column instead (replace(lower(name), 'ß', 'ss') ...) would match exactly but no
index serves it. So the term is case-folded, then spelt each way lower() may have stored it:
each 'ss' also as 'ß', each 'σ' also as 'ς'. The spellings are ORed, each a LIKE the trigram
index serves (a BitmapOr of index scans); a term with neither is the one LIKE it always was.

What matches: a term matches a text when the term's case fold is in the text's lower(), up to
those two letters, the same on both databases. Not matched: half of a 'ß' at the term's end
('stras' does not find 'Straße', 'strass' does); accents ('ελενησ' does not find 'Ελένης',
'ελένησ' does); casefold's rarer mappings (a ligature 'ﬁ' typed is also looked for as typed,
lowered).
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

# A term with more places to spell differently than this many spellings allow is looked for
# in its uniform spellings only (every 'ss' one way, every sigma one way): one LIKE each.
MAX_SPELLINGS = 16


def escape_like(text: str) -> str:
    """`text` matched literally by LIKE: its wildcards and the escape character escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _spell(folded: str, start: int) -> Iterator[str]:
    if start == len(folded):
        yield ""
        return
    letter = folded[start]
    if folded.startswith("ss", start):
        yield from ("ß" + rest for rest in _spell(folded, start + 2))
    elif letter == "σ":
        yield from ("ς" + rest for rest in _spell(folded, start + 1))
    yield from (letter + rest for rest in _spell(folded, start + 1))


def spellings(term: str) -> list[str]:
    """The ways lower() may have stored text whose case fold holds `term`'s, without repeats."""
    folded = term.casefold()
    found: list[str] = []
    for spelling in _spell(folded, 0):
        if len(found) == MAX_SPELLINGS:
            found = [
                folded,
                folded.replace("ss", "ß"),
                folded.replace("σ", "ς"),
                folded.replace("ss", "ß").replace("σ", "ς"),
            ]
            break
        found.append(spelling)
    found.append(term.lower())
    return list(dict.fromkeys(found))


def contains_folded(lowered: sa.ColumnElement[str], term: str) -> sa.ColumnElement[bool]:
    """`lowered` (an expression already lower()ed) holds `term`, case folded (above)."""
    return sa.or_(
        *(lowered.like(f"%{escape_like(spelling)}%", escape="\\") for spelling in spellings(term))
    )
