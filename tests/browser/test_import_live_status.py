"""An import's page says what state the job is in as it changes, not the state it loaded in:
the status tag read "Waiting" beside "Importing the rows." while the counters moved."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from newsletter.extensions import db
from tests.browser.pages import ADMIN, sign_in
from tests.factories import PASSWORD

STATUS = {
    "bytes_done": 500,
    "bytes_total": 1000,
    "checking": False,
    "dry_run": False,
    "duplicates": 0,
    "error": None,
    "finished": False,
    "imported": 10_000,
    "percent": 50,
    "rejected": 0,
    "rows_done": 10_000,
    "suppressed": 0,
    "unchanged": 0,
    "updated": 0,
}


def test_the_status_tag_and_phase_follow_the_job(page, live_server, make):
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    make.list("news", name="News")
    db.session.remove()
    sign_in(page, live_server, ADMIN)
    # The job's answers are played from here, so that each state lasts as long as needed.
    answer = {"status": "queued"}
    page.route(
        "**/status.json",
        lambda route: route.fulfill(
            content_type="application/json", body=json.dumps({**STATUS, "id": 1, **answer})
        ),
    )
    page.goto(live_server("/admin/imports/new"))
    page.get_by_label("List", exact=True).select_option("news")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": b"email\na@example.org\n"}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("button", name="Import this file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of people.csv")
    status = page.locator("[data-field=status_label] .tag").first
    phase = page.locator("[data-field=phase]")
    expect(status).to_have_text("Waiting")
    expect(phase).to_have_text("Waiting for a worker to start it.")
    answer["status"] = "running"
    expect(status).to_have_text("Running")
    expect(phase).to_have_text("Importing the rows.")
    expect(page.locator("[data-field=rows_done]")).to_have_text("10,000")
