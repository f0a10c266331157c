"""Enqueueing never loads workers/: only the commands that run workers declare the actors."""

import subprocess
import sys
import textwrap


def test_the_web_app_enqueues_without_importing_workers(tmp_path):
    """A sign-up's confirmation mail is queued by the web app with workers/ never imported."""
    script = textwrap.dedent(
        f"""
        import sys
        from newsletter import create_app
        from newsletter.background import enqueue
        from newsletter.background.broker import get_broker

        app = create_app({{
            "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / "app.db"}",
            "REDIS_URL": "",
            "SECRET_KEY": "x" * 32,
        }})
        with app.app_context():
            enqueue.send_confirmation(42)
            broker = get_broker(app)
            queued = [m for q in broker.queues.values() for m in q.queue]
        print(len(queued), sorted(n for n in sys.modules if n.split(".")[0] == "workers"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "[]"]
