"""The actor that runs an uploaded import in the background. It takes a job id, and running it
again resumes the job from its last committed batch, so a redelivered message is harmless."""

from __future__ import annotations

import dramatiq

from newsletter.background import enqueue
from newsletter.errors import NewsletterError
from newsletter.imports.uploads import run_uploaded_job

# A million rows take under a minute; the limit only stops a run that has hung.
TIME_LIMIT_MS = 6 * 60 * 60 * 1000


@dramatiq.actor(
    actor_name=enqueue.RUN_IMPORT,
    queue_name=enqueue.QUEUE_IMPORTS,
    max_retries=3,
    min_backoff=10_000,
    max_backoff=300_000,
    time_limit=TIME_LIMIT_MS,
    # A file we cannot read, or a job another process holds, would only fail again.
    throws=(NewsletterError,),
)
def run_import(job_id: int) -> None:
    """Import (or resume) the uploaded file of import job `job_id`."""
    run_uploaded_job(job_id)
