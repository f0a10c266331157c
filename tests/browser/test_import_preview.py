"""The import journey an admin takes: upload, preview, dry run, live counts, then import."""

from __future__ import annotations

import time

from playwright.sync_api import Error, expect

from newsletter.extensions import db
from tests.browser.pages import ADMIN, sign_in
from tests.factories import PASSWORD

ROWS = (
    b"email,name,Team\n"
    + b"".join(f"person{n}@example.org,Person {n},Blue\n".encode() for n in range(30_000))
    + b"not an address,Nobody,Red\n"
)


def test_upload_preview_dry_run_then_import_with_live_counts(page, live_server, make):
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    make.list("news", name="News")
    db.session.remove()
    sign_in(page, live_server, ADMIN)
    page.goto(live_server("/admin/imports/new"))
    page.get_by_role("link", name="migration guide").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Migrating subscribers from another provider"
    )
    page.go_back()
    page.get_by_label("List", exact=True).select_option("news")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": ROWS}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    # The preview: format, mapping, the first ten rows; nothing imported yet.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the import of people.csv")
    expect(page.get_by_text("CSV with an email column")).to_be_visible()
    columns = page.get_by_role("table").first
    expect(columns.get_by_role("row", name="email email address")).to_be_visible()
    expect(columns.get_by_role("row", name="Team extra details, kept with the subscriber"))
    rows = page.get_by_role("table").nth(1).locator("tbody tr")
    expect(rows).to_have_count(10)
    expect(rows.first).to_contain_text("person0@example.org")
    # The dry run: its page fills in live, then says what would happen.
    page.get_by_role("button", name="Dry run: show what would happen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dry run of people.csv")
    # Live: the counters move on this very page (no reload: the marker survives) until the
    # script reloads it once the dry run has finished.
    page.evaluate("window.stillHere = true")
    assert _counts_move_before_any_reload(page)
    expect(page.get_by_text("Would import 30,000, would update 0")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("would reject 1")).to_be_visible()
    expect(page.get_by_role("row", name="Would import 30,000")).to_be_visible()
    # Then the import itself, from the dry run's page; its counts end as the dry run said.
    page.get_by_role("button", name="Import this file now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of people.csv")
    expect(page.locator("#import-progress[data-finished=true]")).to_be_attached(timeout=60_000)
    expect(page.get_by_role("row", name="Imported 30,000")).to_be_visible()
    expect(page.get_by_role("row", name="Rejected 1")).to_be_visible()


def _counts_move_before_any_reload(page) -> bool:
    """True once the rows read change on the page the marker was set on."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            here, rows = page.evaluate(
                "[window.stillHere === true,"
                " document.querySelector('[data-field=rows_done]').textContent]"
            )
        except Error:  # the page is being reloaded
            return False
        if not here:
            return False
        if rows != "0":
            return True
        time.sleep(0.05)
    return False
