"""Values the application stores for itself in the database, by name (the app_setting table).

Settings an operator gives live in newsletter.config; this holds what the application makes
and keeps: the generated suppression key (newsletter.suppression), the first-run setup token's
hash (newsletter.accounts) and the like. `set_setting` commits; `delete_setting` leaves the
commit to its caller, which forgets a value in the same commit as the change that used it up.
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


def delete_setting(key: str) -> None:
    row = db.session.get(AppSetting, key)
    if row is not None:
        db.session.delete(row)
