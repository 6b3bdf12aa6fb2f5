"""FieldCheck's domain: typed tables, the local store and the rules of an inspection.

Nothing here imports Qt. Importing the package registers every table and the flush hook.
"""
from models import flush_hooks  # noqa: F401  (registers the before_flush hook)
from models.audit import AuditEvent
from models.base import Base
from models.checklist import AREAS, Checklist, ChecklistItem
from models.documents import Document, DocumentKind, Signature
from models.inspection import (Answer, AnswerResult, Hazard, HazardStatus, Inspection,
                               InspectionChecklist, InspectionInspector, InspectionStatus, Photo)
from models.registry import AgencySettings, Enterprise, Inspector, RiskColour

__all__ = [
    "AREAS", "AgencySettings", "Answer", "AnswerResult", "AuditEvent", "Base", "Checklist",
    "ChecklistItem", "Document", "DocumentKind", "Enterprise", "Hazard", "HazardStatus",
    "Inspection", "InspectionChecklist", "InspectionInspector", "InspectionStatus", "Inspector",
    "Photo", "RiskColour", "Signature",
]
