"""A prepared row carries the same event detail the dict's JSON would, however it is built."""

import json
import marshal
from datetime import UTC, datetime

from newsletter.imports.records import ImportRecord, RowKind
from newsletter.imports.rows import Prepared, Row, RowContext, dumps, to_row


def context():
    return RowContext(
        file_name='audience "é".zip',
        file_sha256="ab" * 32,
        consent="reconfirm",
        address_hash=lambda key: f"hash:{key}",
    )


def test_detail_is_the_json_of_the_event_detail_dict():
    record = ImportRecord(
        line=7,
        file="unsubscribed_members_export.csv",
        email=" Ada@Example.org ",
        kind=RowKind.UNSUBSCRIBED,
        name="Ada Lovelace",
        attributes={"Ville": "Besançon", "Tags": '"vip", news'},
        evidence={"OPTIN_TIME": "2019-03-04 10:22:11", "OPTIN_IP": "192.0.2.1"},
        source_ids={"LEID": "42", "EUID": "x\\y"},
        opted_in_at=datetime(2019, 3, 4, 10, 22, 11, tzinfo=UTC),
        left_at=datetime(2020, 1, 1, tzinfo=UTC),
        note="unsubscribed in Mailchimp: « trop »\n",
    )
    row = Row._make(to_row(record, "Ada@example.org", "ada@example.org", context()))
    assert row.detail == json.dumps(
        {
            "file": 'audience "é".zip',
            "sha256": "ab" * 32,
            "line": 7,
            "consent": "reconfirm",
            "member": "unsubscribed_members_export.csv",
            "evidence": record.evidence,
            "source_ids": record.source_ids,
            "note": record.note,
        }
    )
    assert json.loads(row.attributes) == record.attributes
    assert row.attributes == json.dumps(record.attributes)
    assert row.ip == "192.0.2.1"
    assert row.key_hash == "hash:ada@example.org"
    assert row.opted_in_at == record.opted_in_at.timestamp()
    assert row.confirmed_at is None


def test_a_plain_row_has_only_the_constant_detail():
    record = ImportRecord(line=2, file='audience "é".zip', email="a@x.org")
    row = Row._make(to_row(record, "a@x.org", "a@x.org", context()))
    assert json.loads(row.detail) == {
        "file": 'audience "é".zip',
        "sha256": "ab" * 32,
        "line": 2,
        "consent": "reconfirm",
    }
    assert row.detail == json.dumps(json.loads(row.detail))
    assert row.attributes == "{}"


def test_dumps_writes_what_json_dumps_writes():
    for value in ({}, {"a": [1, 2.5, None, True, "é\u2028"]}, {"k": {"nested": "\x00"}}):
        assert dumps(value) == json.dumps(value)


def test_a_batch_survives_the_pipe_format():
    batch = Prepared(
        size=3,
        bytes_done=120,
        rows=[("member", "k", "e", "h", 2, "f", "raw", "n", "{}", "{}", None, 1.5, None, None, "")],
        rejects=[(3, "f", "bad", "no @")],
        duplicates=1,
    )
    assert Prepared(*marshal.loads(batch.pack())) == batch
