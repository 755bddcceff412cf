"""Ledger pages, one module per part: imports, mappings, import profiles, postings."""
