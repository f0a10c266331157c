"""The merge rules: what one batch of validated, de-duplicated rows does to the database.

- A leaver (unsubscribed, cleaned, blocklisted) becomes a suppression reason with its date,
  never a subscriber; an active subscription to the list older than the leaving ends.
- A member is refused when their address is suppressed or they have left this list here.
- A member new to the list is subscribed (confirmed with `keep`, pending with `reconfirm`)
  with an `import` consent event carrying the old evidence.
- A member already on the list is only ever given new information: a missing name or
  attribute, pending to confirmed (`keep`), an opt-in level raised to confirmed. Nothing is
  downgraded and nothing they told us is overwritten.
- An older event never overwrites a newer one: a leaving dated before the person's latest
  confirmation here, or before an earlier suppression of the same kind was lifted, changes
  nothing.

Every rule looks only at the database and the row, so applying a batch twice changes nothing
the second time: that is what makes an import idempotent and resumable.
"""

from __future__ import annotations

import json
import secrets
from base64 import urlsafe_b64encode
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime

from newsletter.imports.records import LEAVER_REASONS, RowKind
from newsletter.imports.rows import Row, moment
from newsletter.imports.store import BatchStore, SubscriberRow, SubscriptionRow
from newsletter.models import (
    ConsentAction,
    ConsentMethod,
    ConsentMode,
    OptInLevel,
    SubscriptionStatus,
    SuppressionReason,
)

# Enum values read once: `.value` on an enum member is a property call, several per row.
IMPORT = ConsentMethod.IMPORT.value
CONFIRMED = SubscriptionStatus.CONFIRMED.value
PENDING = SubscriptionStatus.PENDING.value
UNSUBSCRIBED = SubscriptionStatus.UNSUBSCRIBED.value
ERASED_VALUE = "[erased]"  # what a reject keeps in place of an erased person's address
TOKEN_BYTES = 24  # as newsletter.models.subscribers.new_unsubscribe_token


def unsubscribe_tokens(chunk: int = 5000) -> Iterator[str]:
    """new_unsubscribe_token()'s tokens, made a few thousand at a time from one urandom call.

    24 random bytes are exactly 32 base64 characters, so one encoding of many tokens' bytes
    cut every 32 characters gives the same tokens as encoding each alone.
    """
    width = TOKEN_BYTES * 4 // 3
    while True:
        text = urlsafe_b64encode(secrets.token_bytes(TOKEN_BYTES * chunk)).decode()
        yield from (text[i : i + width] for i in range(0, len(text), width))


@dataclass
class Counts:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    suppressed: int = 0
    rejected: int = 0
    duplicates: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def rows(self) -> int:
        return sum(self.as_dict().values())


@dataclass(frozen=True)
class ImportContext:
    """What every batch of one import needs to know."""

    list_id: int
    consent: ConsentMode
    source_system: str
    job_id: int | None
    account_id: int | None
    source: str  # the file's name, recorded as each event's source


@dataclass
class Plan:
    counts: Counts = field(default_factory=Counts)
    rejects: list[tuple[Row, str]] = field(default_factory=list)
    new_subscribers: dict[str, dict] = field(default_factory=dict)
    # Rows whose subscriber_id may still be a canonical key of a person inserted in this batch.
    new_subscriptions: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    subscription_updates: list[dict] = field(default_factory=list)
    subscriber_updates: dict[int, dict] = field(default_factory=dict)
    suppressions: list[dict] = field(default_factory=list)


class BatchPlanner:
    def __init__(self, context: ImportContext, store: BatchStore, now: datetime) -> None:
        self.context = context
        self.store = store
        self.now = now
        self.tokens = unsubscribe_tokens()

    def plan(self, rows: list[tuple], late_duplicates: list[tuple]) -> Plan:
        """Plan a batch; rows are `Row`s or plain tuples in its field order."""
        plan = Plan()
        firsts = [*map(Row._make, rows)]
        repeats = [*map(Row._make, late_duplicates)]
        keys = {row.key for row in firsts} | {row.key for row in repeats}
        self.people = self.store.subscribers(keys)
        found = self.store.subscriptions([p.id for p in self.people.values()], self.context.list_id)
        self.on_list: dict[int, SubscriptionRow] = found["on_list"]
        self.latest_confirmation: dict[int, datetime] = found["latest_confirmation"]
        hashes = {row.key_hash for row in firsts} | {row.key_hash for row in repeats}
        self.suppressions = self.store.suppression(hashes)
        for row in firsts:
            if row.is_leaver:
                self._leaver(plan, row)
            else:
                self._member(plan, row)
        for row in repeats:
            self._merge_duplicate(plan, row)
        return plan

    # Leavers -----------------------------------------------------------------------------

    def _leaver(self, plan: Plan, row: Row) -> None:
        reason = LEAVER_REASONS[RowKind(row.kind)]
        state = self.suppressions.get(row.key_hash)
        person = self.people.get(row.key)
        left_at = moment(row.left_at)
        newest = self.latest_confirmation.get(person.id) if person else None
        lifted = state.lifted.get(reason) if state else None
        if (left_at and newest and newest > left_at) or (
            lifted and (left_at is None or lifted > left_at)
        ):
            plan.counts.unchanged += 1  # the person's consent here is newer than their leaving
            return
        newly_suppressed = state is None or reason not in state.active
        if newly_suppressed:
            plan.suppressions.append(
                {
                    "key_hash": row.key_hash,
                    "reason": reason,
                    "given_at": left_at or self.now,
                    "note": row.note,
                    "recorded_at": self.now,
                }
            )
        ended = person is not None and self._end_subscription(plan, row, person, left_at)
        if newly_suppressed:
            plan.counts.suppressed += 1
        elif ended:
            plan.counts.updated += 1
        else:
            plan.counts.unchanged += 1

    def _end_subscription(
        self, plan: Plan, row: Row, person: SubscriberRow, left_at: datetime | None
    ) -> bool:
        subscription = self.on_list.get(person.id)
        if subscription is None or subscription.status == SubscriptionStatus.UNSUBSCRIBED:
            return False
        since = subscription.confirmed_at or subscription.created_at
        if left_at is not None and since > left_at:
            return False
        plan.subscription_updates.append(
            {
                "id": subscription.id,
                "status": UNSUBSCRIBED,
                "unsubscribed_at": left_at or self.now,
                "updated_at": self.now,
            }
        )
        plan.events.append(
            self._event(person.id, row, ConsentAction.UNSUBSCRIBED, None, left_at or self.now)
        )
        return True

    # Members -----------------------------------------------------------------------------

    def _member(self, plan: Plan, row: Row) -> None:
        state = self.suppressions.get(row.key_hash)
        if state is not None and state.active:
            reasons = ", ".join(sorted(r.value for r in state.active))
            if SuppressionReason.ERASED in state.active:
                # An old export must not write an erased person's address back into the rejects.
                row = row._replace(raw=ERASED_VALUE)
            plan.rejects.append((row, f"address is suppressed ({reasons})"))
            plan.counts.rejected += 1
            return
        person = self.people.get(row.key)
        subscription = self.on_list.get(person.id) if person else None
        if subscription is not None and subscription.status == SubscriptionStatus.UNSUBSCRIBED:
            when = subscription.unsubscribed_at
            on = f" on {when:%Y-%m-%d}" if when else ""
            plan.rejects.append((row, f"unsubscribed from this list{on}"))
            plan.counts.rejected += 1
            return
        if subscription is None:
            self._subscribe(plan, row, person)
            plan.counts.imported += 1
            return
        assert person is not None  # their subscription was found by their id
        changed = self._raise_subscription(plan, row, person, subscription)
        filled = self._fill_gaps(plan, row, person)
        if changed or filled:
            plan.counts.updated += 1
        else:
            plan.counts.unchanged += 1

    @staticmethod
    def _level(row: Row) -> OptInLevel:
        return OptInLevel.CONFIRMED if row.confirmed_at is not None else OptInLevel.UNKNOWN

    def _confirmed_at(self, row: Row) -> datetime:
        return moment(row.confirmed_at or row.opted_in_at) or self.now

    def _subscribe(self, plan: Plan, row: Row, person: SubscriberRow | None) -> None:
        if person is None:
            # A new person's `suppressed` flag is left false (its server default): _member
            # rejected the row if a reason stood against the address, and leavers make nobody,
            # so nothing stands. Reasons this batch gives are synced by BatchStore.suppress.
            subscriber_ref: int | str = row.key
            plan.new_subscribers[row.key] = {
                "email": row.email,
                "email_key": row.key,
                "key_hash": row.key_hash,
                "name": row.name,
                "attributes": row.attributes,
                "unsubscribe_token": next(self.tokens),
                "created_via": IMPORT,
                "confirmation_sent_at": None,
                "created_at": self.now,
                "updated_at": self.now,
            }
        else:
            subscriber_ref = person.id
            self._fill_gaps(plan, row, person)
        keep = self.context.consent is ConsentMode.KEEP
        level = self._level(row)
        confirmed_at = self._confirmed_at(row)
        plan.new_subscriptions.append(
            {
                "subscriber_id": subscriber_ref,
                "list_id": self.context.list_id,
                "status": CONFIRMED if keep else PENDING,
                "opt_in_level": level.value,
                "requested_via": IMPORT,
                "created_at": self.now,
                "updated_at": self.now,
                "confirmed_at": confirmed_at if keep else None,
                "unsubscribed_at": None,
            }
        )
        plan.events.append(
            self._event(subscriber_ref, row, ConsentAction.IMPORTED, level, confirmed_at)
        )

    def _raise_subscription(
        self, plan: Plan, row: Row, person: SubscriberRow, subscription
    ) -> bool:
        changes: dict = {}
        level = self._level(row)
        if (
            self.context.consent is ConsentMode.KEEP
            and subscription.status == SubscriptionStatus.PENDING
        ):
            changes["status"] = SubscriptionStatus.CONFIRMED.value
            changes["confirmed_at"] = self._confirmed_at(row)
        if level is OptInLevel.CONFIRMED and subscription.opt_in_level != OptInLevel.CONFIRMED:
            changes["opt_in_level"] = level.value
        if not changes:
            return False
        plan.subscription_updates.append({"id": subscription.id, "updated_at": self.now, **changes})
        plan.events.append(self._event(person.id, row, ConsentAction.IMPORTED, level))
        return True

    def _fill_gaps(self, plan: Plan, row: Row, person: SubscriberRow) -> bool:
        """Give a known person a missing name or attributes; never overwrite what we hold."""
        changes: dict = {}
        if row.name and not person.name:
            person.name = changes["name"] = row.name
        given = json.loads(row.attributes) if row.attributes != "{}" else {}
        missing = {k: v for k, v in given.items() if k not in person.attributes}
        if missing:
            person.attributes = changes["attributes"] = {**person.attributes, **missing}
        if not changes:
            return False
        update = plan.subscriber_updates.setdefault(person.id, {"id": person.id})
        update.update(changes, updated_at=self.now)
        return True

    def _merge_duplicate(self, plan: Plan, row: Row) -> None:
        """A repeat of an earlier batch's row: may fill gaps of the person that row imported."""
        person = self.people.get(row.key)
        state = self.suppressions.get(row.key_hash)
        if row.is_leaver or person is None or (state is not None and state.active):
            return
        subscription = self.on_list.get(person.id)
        if subscription is not None and subscription.status != SubscriptionStatus.UNSUBSCRIBED:
            self._fill_gaps(plan, row, person)

    def _event(
        self,
        subscriber_ref: int | str,
        row: Row,
        action: ConsentAction,
        level: OptInLevel | None,
        occurred_at: datetime | None = None,
    ) -> dict:
        context = self.context
        return {
            "subscriber_id": subscriber_ref,
            "list_id": context.list_id,
            "action": action.value,
            "method": IMPORT,
            "occurred_at": occurred_at or self._confirmed_at(row),
            "recorded_at": self.now,
            "ip_address": row.ip,
            "user_agent": None,
            "opt_in_level": level.value if level else None,
            "source": context.source[:200],
            "wording_version": None,
            "source_system": context.source_system,
            "import_job_id": context.job_id,
            "account_id": context.account_id,
            "detail": row.detail,
        }
