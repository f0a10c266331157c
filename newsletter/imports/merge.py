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

import secrets
from dataclasses import dataclass, field, fields
from datetime import datetime

from newsletter.addresses import Address
from newsletter.imports.records import LEAVER_REASONS, ImportRecord
from newsletter.imports.store import BatchStore, SubscriberRow, SubscriptionRow
from newsletter.models import (
    ConsentAction,
    ConsentMethod,
    ConsentMode,
    OptInLevel,
    SubscriptionStatus,
)


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
    file_name: str
    file_sha256: str
    job_id: int | None
    account_id: int | None
    address_hash: object  # callable: canonical key -> suppression HMAC


@dataclass
class Plan:
    counts: Counts = field(default_factory=Counts)
    rejects: list[tuple[ImportRecord, str]] = field(default_factory=list)
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

    def plan(
        self,
        rows: list[tuple[ImportRecord, Address]],
        late_duplicates: list[tuple[ImportRecord, Address]],
    ) -> Plan:
        plan = Plan()
        keys = {address.key for _, address in rows} | {a.key for _, a in late_duplicates}
        self.people = self.store.subscribers(keys)
        found = self.store.subscriptions([p.id for p in self.people.values()], self.context.list_id)
        self.on_list: dict[int, SubscriptionRow] = found["on_list"]
        self.latest_confirmation: dict[int, datetime] = found["latest_confirmation"]
        self.hashes = {key: self.context.address_hash(key) for key in keys}
        self.suppressions = self.store.suppression(self.hashes.values())
        for record, address in rows:
            if record.is_leaver:
                self._leaver(plan, record, address)
            else:
                self._member(plan, record, address)
        for record, address in late_duplicates:
            self._merge_duplicate(plan, record, address)
        return plan

    # Leavers -----------------------------------------------------------------------------

    def _leaver(self, plan: Plan, record: ImportRecord, address: Address) -> None:
        reason = LEAVER_REASONS[record.kind]
        state = self.suppressions.get(self.hashes[address.key])
        person = self.people.get(address.key)
        left_at = record.left_at
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
                    "key_hash": self.hashes[address.key],
                    "reason": reason,
                    "given_at": left_at or self.now,
                    "note": record.note,
                    "recorded_at": self.now,
                }
            )
        ended = person is not None and self._end_subscription(plan, record, person, left_at)
        if newly_suppressed:
            plan.counts.suppressed += 1
        elif ended:
            plan.counts.updated += 1
        else:
            plan.counts.unchanged += 1

    def _end_subscription(
        self, plan: Plan, record: ImportRecord, person: SubscriberRow, left_at: datetime | None
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
                "status": SubscriptionStatus.UNSUBSCRIBED.value,
                "unsubscribed_at": left_at or self.now,
                "updated_at": self.now,
            }
        )
        plan.events.append(
            self._event(person.id, record, ConsentAction.UNSUBSCRIBED, None, left_at or self.now)
        )
        return True

    # Members -----------------------------------------------------------------------------

    def _member(self, plan: Plan, record: ImportRecord, address: Address) -> None:
        state = self.suppressions.get(self.hashes[address.key])
        if state is not None and state.active:
            reasons = ", ".join(sorted(r.value for r in state.active))
            plan.rejects.append((record, f"address is suppressed ({reasons})"))
            plan.counts.rejected += 1
            return
        person = self.people.get(address.key)
        subscription = self.on_list.get(person.id) if person else None
        if subscription is not None and subscription.status == SubscriptionStatus.UNSUBSCRIBED:
            when = subscription.unsubscribed_at
            on = f" on {when:%Y-%m-%d}" if when else ""
            plan.rejects.append((record, f"unsubscribed from this list{on}"))
            plan.counts.rejected += 1
            return
        if subscription is None:
            self._subscribe(plan, record, address, person)
            plan.counts.imported += 1
            return
        changed = self._raise_subscription(plan, record, person, subscription)
        filled = self._fill_gaps(plan, record, person)
        if changed or filled:
            plan.counts.updated += 1
        else:
            plan.counts.unchanged += 1

    def _level(self, record: ImportRecord) -> OptInLevel:
        return OptInLevel.CONFIRMED if record.confirmed_at else OptInLevel.UNKNOWN

    def _subscribe(
        self, plan: Plan, record: ImportRecord, address: Address, person: SubscriberRow | None
    ) -> None:
        if person is None:
            subscriber_ref: int | str = address.key
            plan.new_subscribers[address.key] = {
                "email": address.email,
                "email_key": address.key,
                "name": record.name,
                "attributes": record.attributes,
                "unsubscribe_token": secrets.token_urlsafe(24),
                "created_via": ConsentMethod.IMPORT.value,
                "confirmation_sent_at": None,
                "created_at": self.now,
                "updated_at": self.now,
            }
        else:
            subscriber_ref = person.id
            self._fill_gaps(plan, record, person)
        keep = self.context.consent is ConsentMode.KEEP
        level = self._level(record)
        plan.new_subscriptions.append(
            {
                "subscriber_id": subscriber_ref,
                "list_id": self.context.list_id,
                "status": (
                    SubscriptionStatus.CONFIRMED if keep else SubscriptionStatus.PENDING
                ).value,
                "opt_in_level": level.value,
                "requested_via": ConsentMethod.IMPORT.value,
                "created_at": self.now,
                "updated_at": self.now,
                "confirmed_at": (record.confirmed_at or record.opted_in_at or self.now)
                if keep
                else None,
                "unsubscribed_at": None,
            }
        )
        plan.events.append(self._event(subscriber_ref, record, ConsentAction.IMPORTED, level))

    def _raise_subscription(
        self, plan: Plan, record: ImportRecord, person: SubscriberRow, subscription
    ) -> bool:
        changes: dict = {}
        level = self._level(record)
        if (
            self.context.consent is ConsentMode.KEEP
            and subscription.status == SubscriptionStatus.PENDING
        ):
            changes["status"] = SubscriptionStatus.CONFIRMED.value
            changes["confirmed_at"] = record.confirmed_at or record.opted_in_at or self.now
        if level is OptInLevel.CONFIRMED and subscription.opt_in_level != OptInLevel.CONFIRMED:
            changes["opt_in_level"] = level.value
        if not changes:
            return False
        plan.subscription_updates.append({"id": subscription.id, "updated_at": self.now, **changes})
        plan.events.append(self._event(person.id, record, ConsentAction.IMPORTED, level))
        return True

    def _fill_gaps(self, plan: Plan, record: ImportRecord, person: SubscriberRow) -> bool:
        """Give a known person a missing name or attributes; never overwrite what we hold."""
        changes: dict = {}
        if record.name and not person.name:
            person.name = changes["name"] = record.name
        missing = {k: v for k, v in record.attributes.items() if k not in person.attributes}
        if missing:
            person.attributes = changes["attributes"] = {**person.attributes, **missing}
        if not changes:
            return False
        update = plan.subscriber_updates.setdefault(person.id, {"id": person.id})
        update.update(changes, updated_at=self.now)
        return True

    def _merge_duplicate(self, plan: Plan, record: ImportRecord, address: Address) -> None:
        """A repeat of an earlier batch's row: may fill gaps of the person that row imported."""
        person = self.people.get(address.key)
        state = self.suppressions.get(self.hashes[address.key])
        if person is None or (state is not None and state.active):
            return
        subscription = self.on_list.get(person.id)
        if subscription is not None and subscription.status != SubscriptionStatus.UNSUBSCRIBED:
            self._fill_gaps(plan, record, person)

    def _event(
        self,
        subscriber_ref: int | str,
        record: ImportRecord,
        action: ConsentAction,
        level: OptInLevel | None,
        occurred_at: datetime | None = None,
    ) -> dict:
        context = self.context
        detail = {
            "file": context.file_name,
            "sha256": context.file_sha256,
            "line": record.line,
            "consent": context.consent.value,
        }
        if record.file != context.file_name:
            detail["member"] = record.file
        if record.evidence:
            detail["evidence"] = record.evidence
        if record.source_ids:
            detail["source_ids"] = record.source_ids
        if record.note:
            detail["note"] = record.note
        evidence = record.evidence
        ip = evidence.get("CONFIRM_IP") or evidence.get("OPTIN_IP")
        return {
            "subscriber_id": subscriber_ref,
            "list_id": context.list_id,
            "action": action.value,
            "method": ConsentMethod.IMPORT.value,
            "occurred_at": occurred_at or record.confirmed_at or record.opted_in_at or self.now,
            "recorded_at": self.now,
            "ip_address": ip[:64] if ip else None,
            "user_agent": None,
            "opt_in_level": level.value if level else None,
            "source": context.file_name[:200],
            "wording_version": None,
            "source_system": context.source_system,
            "import_job_id": context.job_id,
            "account_id": context.account_id,
            "detail": detail,
        }
