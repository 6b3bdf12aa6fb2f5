"""FieldCheck's domain: typed tables, the local store and the rules of an inspection.

Nothing here imports Qt. Kept empty on purpose: the GUI shows its window before paying for
SQLAlchemy's import; `models.tables` gathers every table, `models.store` the flush hook.
"""
