"""Migrating subscribers from another provider (issue 4).

One concern per module: `sources` opens files and ZIPs and settles the encoding, `formats`
recognises an export by its header and turns rows into `records.ImportRecord`s, `addresses`
validates addresses fast, `importer` applies batches by the merge rules, `store` does the bulk
SQL, `jobs` keeps the `ImportJob` row (progress, resuming), and `reports` writes the summary
and the rejects.
"""

from newsletter.imports.errors import ImportFileError

__all__ = ["ImportFileError"]
