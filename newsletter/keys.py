"""Values the application stores for itself in the database, by name (the app_setting table).

Settings an operator gives live in newsletter.config; this holds what the application makes
and keeps: the generated suppression key (newsletter.suppression), the first-run setup token's
hash (newsletter.accounts) and the like. `set_setting` commits. A value used up by a change
is deleted by that change's own conditional statement, in its transaction (the set-up token:
newsletter.accounts.create_first_admin).
"""

from __future__ import annotations

from newsletter.extensions import db
from newsletter.models import AppSetting


def get_setting(key: str) -> str | None:
    row = db.session.get(AppSetting, key)
    return row.value if row is not None else None


def set_setting(key: str, value: str) -> None:
    row = db.session.get(AppSetting, key)
    if row is None:
        db.session.add(AppSetting(key=key, value=value))
    else:
        row.value = value
    db.session.commit()
