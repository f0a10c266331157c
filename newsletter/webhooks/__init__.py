"""Webhooks out: events written with the changes they report, delivered signed to endpoints.

The domain functions call `emit` (or `emit_for_address`, `note_erasure`) before they commit;
`endpoints` holds what the admin (and an API) do with endpoints; `dispatch` is the delivery.
"""

from newsletter.webhooks.events import EventType
from newsletter.webhooks.outbox import (
    begin_if_wanted,
    emit,
    emit_for_address,
    note_erasure,
    wanted,
)

__all__ = ["EventType", "begin_if_wanted", "emit", "emit_for_address", "note_erasure", "wanted"]
