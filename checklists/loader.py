"""The checklist files' loader now lives in the domain layer (models.checklist_library), so
that models/ needs nothing from this package; kept so older imports keep working."""
from models.checklist_library import (  # noqa: F401
    CODE_PREFIX, DATA_DIR, MAJOR_CLAUSE, TEXT_KINDS, UNVERIFIED, VERIFIED, BasisSource,
    ChecklistSpec, ItemSpec, LoadReport, citations_of, latest_checklists, load_checklists,
    parse_file, parse_folder, store_checklists)
