"""Factory functions that build real rows through the domain code where it exists."""

from __future__ import annotations

import itertools

from newsletter.extensions import db

_counter = itertools.count(1)


class Factories:
    def __init__(self, app) -> None:
        self.app = app

    def account(
        self,
        email: str | None = None,
        password: str = "correct horse battery",
        role: str = "admin",
        disabled: bool = False,
    ):
        from newsletter.accounts import create_account, set_disabled

        email = email or f"staff{next(_counter)}@example.org"
        account = create_account(email, password, role=role, actor="test")
        if disabled:
            set_disabled(account, True, actor=None)
        return account

    def list(self, slug: str | None = None, name: str | None = None, **options):
        from newsletter.lists import create_list

        slug = slug or f"list-{next(_counter)}"
        return create_list(
            slug, name=name or slug.replace("-", " ").title(), actor="test", **options
        )

    def subscriber(
        self, email: str | None = None, lists=(), status: str = "confirmed", name: str = ""
    ):
        from newsletter.addresses import parse_address
        from newsletter.models import OptInLevel, Subscriber, Subscription, SubscriptionStatus

        address = parse_address(email or f"person{next(_counter)}@example.com")
        subscriber = Subscriber(email=address.email, email_key=address.key, name=name)
        db.session.add(subscriber)
        for mailing_list in lists:
            db.session.add(
                Subscription(
                    subscriber=subscriber,
                    list_id=mailing_list.id,
                    status=SubscriptionStatus(status),
                    opt_in_level=OptInLevel.CONFIRMED,
                )
            )
        db.session.commit()
        return subscriber
