"""The reference routes of bench/signup.py exist only in the bench configuration."""

import pytest
import sqlalchemy as sa

from newsletter.config import load_config
from newsletter.extensions import db
from newsletter.web.bench import bench_insert


@pytest.fixture
def bench_table(app):
    """The bench_insert table that bench/signup.py creates, dropped again afterwards."""
    bench_insert.create(db.engine)
    yield bench_insert
    # End the test's transaction first: on PostgreSQL it holds a lock that DROP waits for.
    db.session.rollback()
    bench_insert.drop(db.engine)


def test_bench_routes_are_absent_in_a_normal_run(client):
    """Without BENCH_ROUTES neither route is registered."""
    assert client.get("/_bench/constant").status_code == 404
    assert client.post("/_bench/insert").status_code == 404


@pytest.mark.parametrize("config_overrides", [{"BENCH_ROUTES": True}])
def test_bench_routes_answer_a_constant_and_insert_one_row(client, bench_table):
    """The constant route only answers; the insert route adds exactly one row per request."""
    assert client.get("/_bench/constant").get_data() == b"ok\n"
    assert client.post("/_bench/insert").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(bench_table)) == 1


def test_newsletter_bench_environment_turns_the_routes_on():
    """NEWSLETTER_BENCH=1 is what sets BENCH_ROUTES; it is off by default."""
    base = {"DATABASE_URL": "sqlite://", "SECRET_KEY": "k"}
    assert load_config(base)["BENCH_ROUTES"] is False
    assert load_config({**base, "NEWSLETTER_BENCH": "1"})["BENCH_ROUTES"] is True
