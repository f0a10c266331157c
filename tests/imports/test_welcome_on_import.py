"""Imports welcome only when the admin asks: the option on the upload's preview and `--welcome`."""

from __future__ import annotations

import io

import sqlalchemy as sa

from newsletter.background.enqueue import QUEUE_DELIVERY, QUEUE_IMPORTS, QUEUE_SYSTEM
from newsletter.delivery.sweep import sweep
from newsletter.delivery.welcome import create_welcome, queue_due, turn_on
from newsletter.extensions import db
from newsletter.models import Delivery, ImportJob
from tests.factories import finished_import

CSV = "email,name\nann@example.com,Ann\nzoë@bücher.example,Zoë 王\nnot-an-address,Nobody\n"


def drain(broker, worker) -> None:
    db.session.remove()  # let the worker's session write
    for _ in range(3):
        for queue in (QUEUE_IMPORTS, QUEUE_SYSTEM, QUEUE_DELIVERY):
            broker.join(queue)
        worker.join()


def welcome_on(mailing_list):
    issue = create_welcome(mailing_list, "test")
    turn_on(issue, "test")
    return issue


def test_an_import_without_the_option_welcomes_nobody(runner, news, tmp_path, smtp_sink,
                                                      stub_broker, stub_worker):  # fmt: skip
    """Imported confirmed people are not welcomed unless asked, even by the sweep."""
    welcome_on(news)
    path = tmp_path / "export.csv"
    path.write_text(CSV)
    finished_import(runner, path)
    sweep()
    drain(stub_broker, stub_worker)
    assert smtp_sink.messages == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0


def test_with_the_option_each_imported_person_gets_one(runner, news, tmp_path, smtp_sink,
                                                       stub_broker, stub_worker):  # fmt: skip
    """`--welcome`: each confirmed person of the import is welcomed once, names filled in."""
    welcome_on(news)
    path = tmp_path / "export.csv"
    path.write_text(CSV)
    job = finished_import(runner, path, "--welcome")
    assert job.send_welcome
    drain(stub_broker, stub_worker)
    assert sorted(smtp_sink.recipients()) == ["ann@example.com", "zoë@bücher.example"]
    zoe = next(m for m in smtp_sink.messages if m.rcpt_tos == ["zoë@bücher.example"])
    assert "Zoë 王" in zoe.text()
    # Later passes, and the same file imported again with the option, send nothing more.
    queue_due()
    finished_import(runner, path, "--welcome")
    sweep()
    drain(stub_broker, stub_worker)
    assert len(smtp_sink.messages) == 2
    assert db.session.scalar(sa.select(ImportJob.welcome_queued_at).limit(1)) is not None


def test_a_lost_nudge_is_made_good_by_the_sweep(runner, news, tmp_path, smtp_sink, stub_broker,
                                                 stub_worker):  # fmt: skip
    """The job remembers it was asked: the sweep writes the rows if the message was lost."""
    welcome_on(news)
    path = tmp_path / "export.csv"
    path.write_text(CSV)
    finished_import(runner, path, "--welcome")
    stub_broker.flush_all()
    assert smtp_sink.messages == []
    sweep()
    drain(stub_broker, stub_worker)
    assert len(smtp_sink.messages) == 2


def upload(client, content: bytes):
    data = {"mailing_list": "news", "format": "auto", "consent": "keep"}
    data["file"] = (io.BytesIO(content), "export.csv")
    response = client.post("/admin/imports/new", data=data, content_type="multipart/form-data")
    return response.headers["Location"]


def test_the_preview_offers_the_option_and_the_start_keeps_it(admin_client, news, stub_broker,
                                                              stub_worker, smtp_sink):  # fmt: skip
    """The checkbox shows when the list has a welcome message; ticked, the import welcomes."""
    preview = upload(admin_client, CSV.encode())
    assert "send_welcome" not in admin_client.get(preview).get_data(as_text=True)
    welcome_on(news)
    page = admin_client.get(preview).get_data(as_text=True)
    assert 'name="send_welcome"' in page and "it is on now" in page
    start = preview.removesuffix("/preview") + "/start"
    admin_client.post(start, data={"action": "import", "send_welcome": "1"})
    drain(stub_broker, stub_worker)
    assert sorted(smtp_sink.recipients()) == ["ann@example.com", "zoë@bücher.example"]


def test_an_unticked_upload_welcomes_nobody(admin_client, news, stub_broker, stub_worker,
                                            smtp_sink):  # fmt: skip
    welcome_on(news)
    preview = upload(admin_client, CSV.encode())
    admin_client.post(preview.removesuffix("/preview") + "/start", data={"action": "import"})
    drain(stub_broker, stub_worker)
    sweep()
    drain(stub_broker, stub_worker)
    assert smtp_sink.messages == []
