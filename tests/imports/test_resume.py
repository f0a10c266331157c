"""kill -9 half way through, run again: the import completes with nobody twice and nobody lost."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import sqlalchemy as sa
from sqlalchemy import func, select

from newsletter.extensions import db
from newsletter.models import ConsentEvent, ImportJob, Subscriber, Subscription
from tests.imports.conftest import summary
from tests.support.process import clean_env, newsletter_executable, run_newsletter

ROWS = 20_000


def write_export(path) -> int:
    """A generic CSV with invalid rows and repeats; returns the number of distinct valid people."""
    lines = ["email,name"]
    for i in range(ROWS):
        if i % 50 == 0:
            lines.append(f"broken{i}@,Broken")
        elif i % 40 == 0:
            lines.append(f"PERSON{i // 2}@EXAMPLE.ORG,Repeat")
        else:
            lines.append(f"person{i}@example.org,Person {i}")
    path.write_text("\n".join(lines) + "\n")
    valid = {line.split(",")[0].lower() for line in lines[1:] if "@," not in line}
    return len(valid)


def test_an_import_killed_half_way_completes_when_run_again(news, tmp_path, migrated_database):
    """SIGKILL mid-import, rerun: finishes, same totals as one clean run, no duplicates."""
    path = tmp_path / "people.csv"
    distinct = write_export(path)
    env = clean_env(
        DATABASE_URL=migrated_database,
        SECRET_KEY="test-secret-key-not-for-production",
        SUPPRESSION_KEY="test-suppression-key",
    )
    args = ["import", str(path), "--list", "news", "--batch-size", "100"]
    db.session.remove()  # hold no lock on SQLite while the child writes
    child = subprocess.Popen(
        [newsletter_executable(), *args], cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    engine = sa.create_engine(db.engine.url)
    try:
        deadline = time.monotonic() + 60
        done = 0
        while time.monotonic() < deadline and child.poll() is None:
            with engine.connect() as connection:
                done = connection.scalar(sa.text("SELECT max(rows_done) FROM import_job")) or 0
            if done >= 2000:
                break
            time.sleep(0.02)
        assert child.poll() is None, "the import finished before it could be killed"
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        engine.dispose()
    assert 0 < done < ROWS

    rerun = run_newsletter(*args, cwd=tmp_path, env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming import job" in rerun.stderr
    counts = summary(rerun.stdout)
    assert counts["imported"] == distinct
    assert sum(counts.values()) == ROWS
    assert db.session.scalar(select(func.count(Subscriber.id))) == distinct
    assert db.session.scalar(select(func.count(Subscription.id))) == distinct
    assert db.session.scalar(select(func.count(ConsentEvent.id))) == distinct
    job = db.session.scalars(select(ImportJob)).one()
    assert (job.status, job.rows_done) == ("done", ROWS)

    again = summary(run_newsletter(*args, cwd=tmp_path, env=env).stdout)
    assert (again["imported"], again["unchanged"]) == (0, distinct)
