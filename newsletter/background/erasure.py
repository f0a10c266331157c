"""Erasure reaches the queue too: a sign-up that failed for good keeps its address in Redis.

A queued sign-up carries the address itself (no row exists before its actor runs: see
workers/signups.py). Dramatiq keeps a message whose retries ran out in the queue's dead-letter
set for a week (RedisBroker's `dead_message_ttl`), address and all, where the database's
erasure cannot see it. `erase_person` here erases in the database (`rights.erase_person`) and
then drops such failed sign-ups of that address. A sign-up still waiting or retrying needs
nothing: the erasure left a suppression entry, so its actor records nothing for it.

The web page and the command that erase call this function, not `rights.erase_person`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from newsletter.addresses import parse_address
from newsletter.audit import Actor
from newsletter.background.broker import get_broker
from newsletter.background.enqueue import QUEUE_SYSTEM, RECORD_SIGNUP
from newsletter.extensions import current_app_object
from newsletter.rights import Erasure
from newsletter.rights import erase_person as erase_in_database


def erase_person(raw_address: str, actor: Actor) -> Erasure:
    """Erase the address in the database, then drop its failed sign-ups from the queue."""
    erasure = erase_in_database(raw_address, actor)
    forget_failed_signups(get_broker(current_app_object()), erasure.addresses)
    return erasure


def _names_one_of(
    message: dramatiq.Message[Any] | MessageProxy, addresses: Collection[str]
) -> bool:
    if message.actor_name != RECORD_SIGNUP or not message.args:
        return False
    email = message.args[0].get("email") if isinstance(message.args[0], dict) else None
    if not isinstance(email, str):
        return False
    if email in addresses:
        return True
    with contextlib.suppress(Exception):
        return parse_address(email).key in addresses
    return False


def forget_failed_signups(broker: dramatiq.Broker, addresses: Collection[str]) -> int:
    """Delete the dead-lettered sign-up messages that carry one of `addresses`; how many."""
    if not addresses:
        return 0
    if isinstance(broker, StubBroker):
        dead = broker.dead_letters_by_queue.get(QUEUE_SYSTEM, [])
        kept = [m for m in dead if not _names_one_of(m, addresses)]
        dropped = len(dead) - len(kept)
        dead[:] = kept
        return dropped
    if not isinstance(broker, RedisBroker):
        return 0
    dead_set = f"{broker.namespace}:{QUEUE_SYSTEM}.XQ"
    dead_messages = f"{dead_set}.msgs"
    doomed = []
    for message_id, data in broker.client.hscan_iter(dead_messages):
        try:
            message = dramatiq.Message.decode(data)
        except dramatiq.errors.DecodeError:
            continue  # not ours to judge; it expires with the others
        if _names_one_of(message, addresses):
            doomed.append(message_id)
    if doomed:
        broker.client.zrem(dead_set, *doomed)
        broker.client.hdel(dead_messages, *doomed)
    return len(doomed)
