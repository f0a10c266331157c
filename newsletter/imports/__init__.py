"""Migrating subscribers from another provider (Mailchimp, listmonk, Mailman or a plain CSV).

One concern per module: `sources` opens files and ZIPs and settles the encoding, `formats`
recognises an export by its header and turns rows into `records.ImportRecord`s, `rows`
validates (with newsletter.addresses), de-duplicates and flattens them, `merge` plans a batch
by the merge rules, `importer` applies batches, `store` does the bulk SQL, `jobs` keeps the
`ImportJob` row (progress, resuming), `reconfirmation` asks imported people to confirm, and
`reports` writes the summary and the rejects.

Commits: an import commits once per batch, together with the job's checkpoint, so that a
run stopped half-way resumes after the last batch written; `store` only ever works inside
the transaction its caller gives it. The job functions (`create_job`, `claim`, finishing a
run) and `retention` commit their own change.
"""

from newsletter.imports.errors import ImportFileError

__all__ = ["ImportFileError"]
