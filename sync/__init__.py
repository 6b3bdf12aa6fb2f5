"""Moving records between laptops and the office as signed bundle files (docs/bundle-format.md).

    export.py        — write a bundle atomically (selection.py chooses the rows)
    verify.py        — check a bundle completely without touching the store
                       (container.py: ZIP and signed manifest; records.py: the records)
    merge.py         — import a verified bundle in one transaction (merge_plan.py decides)
    crypto.py        — the device's signing key, the office's encryption key
    keystore.py      — private keys at rest (OS keyring or passphrase)
    agency.py        — the agency CA: enrollment, device/inspector certificates, revocation
                       (agency_cli.py: the `agency` commands)
    trust.py         — who may send a bundle and whose history it may carry (chain heads)
    authority.py     — what a sender may change or delete
    bundle_format.py — names, limits, canonical JSON and the column codec shared by all
"""
