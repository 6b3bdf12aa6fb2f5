"""Moving records between laptops and the office as signed bundle files (docs/bundle-format.md).

    export.py        — write a bundle atomically (selection.py chooses the rows)
    verify.py        — check a bundle completely without touching the store
                       (container.py: ZIP and signed manifest; records.py: the records)
    merge.py         — import a verified bundle in one transaction (merge_plan.py decides)
    crypto.py        — the device's signing key, the office's encryption key
    bundle_format.py — names, limits, canonical JSON and the column codec shared by all
"""
