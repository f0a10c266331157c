"""Every page shows times in UK time, labelled GMT or BST, whatever zone the machine is in."""

from datetime import UTC, datetime

from newsletter.compose.times import uk_date, uk_time


def test_a_summer_time_is_shown_an_hour_ahead_and_labelled_bst():
    assert uk_time(datetime(2026, 7, 1, 8, 30, tzinfo=UTC)) == "1 July 2026 at 09:30 (BST)"


def test_a_winter_time_is_shown_as_gmt():
    assert uk_time(datetime(2026, 12, 1, 9, 30, tzinfo=UTC)) == "1 December 2026 at 09:30 (GMT)"


def test_a_time_without_a_zone_is_taken_as_utc_as_the_database_keeps_it():
    # SQLite returns stored UTC times without a zone; they must not be read as the machine's zone.
    assert uk_time(datetime(2026, 7, 1, 8, 30)) == "1 July 2026 at 09:30 (BST)"


def test_seconds_when_asked():
    assert uk_time(datetime(2026, 12, 1, 9, 30, 5), seconds=True) == (
        "1 December 2026 at 09:30:05 (GMT)"
    )


def test_the_uk_day_of_a_time_just_before_midnight_utc_in_summer_is_the_next_day():
    assert uk_date(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == "2 Jul 2026"


def test_nothing_shows_nothing():
    assert uk_time(None) == "" and uk_date(None) == ""
