"""Benchmark: the import worker's peak memory on hostile uploads.

    python bench/import_hostile.py [--database-url URL] [--only NAME]

Generates each hostile file of tests/imports/hostile.py at full size (a ZIP bomb of 200 MB of
blank lines, a 20 MB CSV of blank lines, a 60 MB line, a ZIP nested 20 deep, a ZIP member that
is a ZIP, a ZIP of 100,000 members) and, as a yardstick, a plain 100,000-row export. For
each it does what the admin's upload does, in one child process (store the bytes with a
queued job), then what the `run_import` actor does, in a second child process
(`uploads.run_uploaded_job`: load the stored file, check it, import it), and reports that
process's peak RSS from the kernel (getrusage), the memory it had before the job, and how the
job ended. The bound is the import benchmark's: 300 MB (docs/benchmarks.md).

The database is a temporary SQLite file unless --database-url names another (it is upgraded
and given a list `bench`; on PostgreSQL use an empty database).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.imports.hostile, the generators the tests use too

BOUND_MB = 300
ROWS = 100_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--only", help="run only the files whose description contains this")
    parser.add_argument("--child", choices=["store", "run"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--job", type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_store(path: Path) -> None:
    """The web request's part: keep the bytes with a queued job (the message goes nowhere)."""
    from newsletter import create_app, lists
    from newsletter.accounts import create_account
    from newsletter.imports import uploads
    from newsletter.models import Account, ConsentMode

    app = create_app()
    with app.app_context():
        from newsletter.extensions import db

        account = db.session.query(Account).first() or create_account(
            "bench@example.org", "bench-password-long", role="admin", actor="bench"
        )
        job = uploads.queue_upload(
            path.name,
            path.read_bytes(),
            lists.get_list("bench"),
            "auto",
            ConsentMode.KEEP,
            actor=account,
        )
        print(json.dumps({"job": job.id}))


def child_run(job_id: int) -> None:
    """The actor's part, in a process of its own so that its peak memory is the job's."""
    from newsletter import create_app
    from newsletter.extensions import db
    from newsletter.imports import uploads
    from newsletter.models import ImportJob

    app = create_app()
    with app.app_context():
        db.session.execute(db.select(ImportJob.id)).all()  # connect before the baseline
        before = peak_mb()
        uploads.run_uploaded_job(job_id)
        job = db.session.get(ImportJob, job_id)
        print(
            json.dumps(
                {
                    "before_mb": before,
                    "peak_mb": peak_mb(),
                    "status": job.status.value,
                    "error": job.error,
                    "imported": job.imported,
                }
            )
        )


def newsletter(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(["newsletter", *args], env=env, check=True, capture_output=True)


def child(kind: str, env: dict[str, str], **options: object) -> dict:
    args = [sys.executable, __file__, "--child", kind]
    for name, value in options.items():
        args += [f"--{name}", str(value)]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{kind} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def plain_export(folder: Path) -> Path:
    path = folder / "plain.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("Email Address,First Name,Last Name\n")
        for number in range(ROWS):
            out.write(f"person{number}@example{number % 500}.org,Ada,Lovelace\n")
    return path


def main() -> None:
    args = parse_args()
    if args.child == "store":
        child_store(args.path)
        return
    if args.child == "run":
        child_run(args.job)
        return
    from tests.imports.hostile import FULL_SIZE

    files = {f"plain export ({ROWS:,} rows)": plain_export, **FULL_SIZE}
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="nl-bench-hostile-") as folder:
        work = Path(folder)
        url = args.database_url or f"sqlite:///{work / 'bench.db'}"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "SUPPRESSION_KEY": "b"}
        env.pop("REDIS_URL", None)
        newsletter(["db", "upgrade"], env)
        newsletter(["lists", "create", "bench", "--name", "Bench"], env)
        worst = 0.0
        for description, generate in files.items():
            if args.only and args.only not in description:
                continue
            path = generate(work)
            stored = child("store", env, path=path)
            result = child("run", env, job=stored["job"])
            worst = max(worst, result["peak_mb"])
            outcome = (
                f"imported {result['imported']:,}"
                if result["status"] == "done"
                else f"refused: {result['error']}"
            )
            print(
                f"{description}: {path.stat().st_size / 2**20:.1f} MB uploaded; worker peak RSS "
                f"{result['peak_mb']:.0f} MB ({result['before_mb']:.0f} MB before the job); "
                f"{result['status']}, {outcome}",
                flush=True,
            )
            path.unlink()
    verdict = "within" if worst <= BOUND_MB else "OVER"
    print(f"largest worker peak {worst:.0f} MB: {verdict} the {BOUND_MB} MB bound")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
