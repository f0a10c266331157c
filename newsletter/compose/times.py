"""Times the secretariat types and reads are UK time; the database keeps UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from newsletter.errors import ValidationError

UK = ZoneInfo("Europe/London")
# What the schedule form's hints say, and so what its errors repeat: one format each.
DATE_HINT = "Day/month/year, for example 01/12/2026"
TIME_HINT = "24-hour clock, for example 09:30"


def _parse_date(text: str) -> date:
    # The hinted day/month/year first; 2026-12-01 is taken too, as written by machines.
    text = (text or "").strip()
    for pattern in ("%d/%m/%Y", "%d %m %Y", "%d-%m-%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValidationError("Enter the date as day/month/year, for example 01/12/2026")


def _parse_time(text: str) -> time:
    text = (text or "").strip().lower().replace(".", ":")
    for pattern in ("%H:%M", "%I:%M%p", "%I%p"):
        try:
            return datetime.strptime(text.replace(" ", ""), pattern).time()
        except ValueError:
            continue
    raise ValidationError("Enter the time on the 24-hour clock, for example 09:30")


def uk_to_utc(date_text: str, time_text: str) -> datetime:
    """A UK wall-clock date and time as an aware UTC datetime.

    A time the clocks skip in spring does not exist and is refused; a time that happens twice
    in autumn is taken as the first (British Summer Time).
    """
    local = datetime.combine(_parse_date(date_text), _parse_time(time_text), tzinfo=UK)
    utc = local.astimezone(UTC)
    if utc.astimezone(UK).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValidationError("That time does not exist in the UK: the clocks go forward then")
    return utc


def _local(moment: datetime) -> datetime:
    # The database keeps UTC; SQLite hands it back without a zone, which must not be taken as
    # the machine's own zone.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UK)


def uk_time(moment: datetime | None, seconds: bool = False) -> str:
    """`moment` as UK time for people to read, e.g. "1 December 2026 at 09:30 (GMT)".

    Every page shows times this way: one zone, always labelled GMT or BST.
    """
    if moment is None:
        return ""
    local = _local(moment)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{local.day} {local:%B %Y} at {clock} ({local.tzname()})"


def uk_date(moment: datetime | None) -> str:
    """The UK calendar day of `moment`, e.g. "1 Dec 2026" (a day near midnight UTC can differ)."""
    if moment is None:
        return ""
    local = _local(moment)
    return f"{local.day} {local:%b %Y}"
