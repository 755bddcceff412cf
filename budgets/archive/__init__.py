"""Fund archive: one fund's year as CSV files plus a manifest with SHA-256 checksums, and back.

`export.export_archive(fund=, year=, out_dir=)` writes everything needed to rebuild the fund's
figures in an empty database (`tables.TABLES`, scoped by `scope`): the reference rows it points at,
the fund, its budget and period statuses, contributions and instalments, the risk-share agreement,
budget lines with phasing, adjustments, virements, forecasts, ledger mappings, spend postings
(reversals included) and commitments. Every reference is written as a natural key (codes,
usernames), never a database id (`codec`).

`restore.import_archive(in_dir=)` verifies and restores it; `fingerprint.fingerprint(fund, year)`
is what must match after a round trip.
"""
