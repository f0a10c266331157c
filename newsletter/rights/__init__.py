"""The subscriber's rights: everything held about a person (access), and erasure.

Both take an address, find the person by its canonical key and the suppression entry by its
HMAC, and write to the audit log by ids only: after an erasure the log must not hold the
address either. Erasure deletes the person, their subscriptions, consent events, bounces and
deliveries (the issues' counts keep them, folded), and leaves the suppression entry with
`erased` added to whatever reasons it had, so a bounce or complaint stays in force. Only a fresh
sign-up confirmed by its link lifts `erased`: consent evidence is deleted only here, and the
suppression entry outlives the person. `export_person` and `erase_person` commit, with their
audit record.

Erasure also reaches every other place the address may be stored (`_forget_elsewhere`):
messages to it in the built-in sink's outbox are deleted, so is any stored import upload that
holds it, delivery rows that lost their link to the person, and the address is blanked where it
was written as text (import rejects, import jobs' errors and warnings, audit details,
suppression notes), the person's name too wherever it stands beside the address. A name alone
is left: it cannot be told from someone else's. `tests/test_erasure_everywhere.py` searches every
table and the database file afterwards, so a new place that stores addresses fails there first.
"""

from newsletter.rights.access import export_person, lookup_address, subscriber_bounces
from newsletter.rights.erasure import ERASED, Erasure, erase_person

__all__ = [
    "ERASED",
    "Erasure",
    "erase_person",
    "export_person",
    "lookup_address",
    "subscriber_bounces",
]
