"""The delivery engine: the ledger, batches that claim and send its rows, and the sweep."""

from newsletter.models import DeliveryStatus

# A row in one of these states is done with; the others (queued, sending) are still to go.
FINAL_STATUSES = (
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.BOUNCED,
    DeliveryStatus.SKIPPED,
    DeliveryStatus.CANCELLED,
)
OPEN_STATUSES = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
