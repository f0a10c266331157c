"""`newsletter worker` as a real process: it takes jobs from Redis and stops cleanly."""

from __future__ import annotations

import signal

import pytest

from newsletter.background import enqueue
from tests.support.process import clean_env, run_newsletter
from tests.support.serve_process import RunningCommand


def worker_env(migrated_database: str, redis_url: str, smtp_port: int) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=migrated_database,
        SECRET_KEY="test-secret-key-not-for-production",
        REDIS_URL=redis_url,
        SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
    )


@pytest.mark.redis
def test_worker_sends_an_enqueued_test_message(
    tmp_path, app, make, migrated_database, redis_url, redis_broker, smtp_sink
):
    """A send_test_mail job put on Redis is sent by the worker process; SIGINT exits 0."""
    account = make.account(email="staff@example.org")
    env = worker_env(migrated_database, redis_url, smtp_sink.port)
    command = RunningCommand("worker", "--threads", "2", cwd=tmp_path, env=env)
    try:
        command.wait_for_line("worker process ready")
        enqueue.send_test_mail(account.id)
        [message] = smtp_sink.wait_for(1, timeout=30)
    finally:
        status = command.interrupt(signal.SIGINT)
    assert message.rcpt_tos == ["staff@example.org"]
    assert message["Subject"] == "Test message from Newsletter"
    assert status == 0, command.stderr
    assert "Traceback" not in command.stderr


@pytest.mark.redis
def test_worker_with_several_processes_stops_on_sigterm(
    tmp_path, app, migrated_database, redis_url, smtp_sink
):
    """--processes 2 starts two worker processes; SIGTERM stops them all with status 0."""
    env = worker_env(migrated_database, redis_url, smtp_sink.port)
    command = RunningCommand("worker", "--processes", "2", "--threads", "1", cwd=tmp_path, env=env)
    try:
        command.wait_for_line("worker process ready")
        command.wait_for_line("worker process ready")
    finally:
        status = command.interrupt(signal.SIGTERM)
    assert status == 0, command.stderr
    assert "Traceback" not in command.stderr


def test_worker_without_redis_is_a_one_line_error(tmp_path):
    """Without REDIS_URL the worker refuses, pointing at serve, with exit status 1."""
    result = run_newsletter("worker", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    # In a folder without an instance, the line saying so comes first.
    assert lines[0] == f"No instance found here: starting a new one in {tmp_path / 'instance'}"
    lines = lines[1:]
    assert len(lines) == 1, result.stderr
    assert "REDIS_URL" in lines[0]
    assert "newsletter serve" in lines[0]
