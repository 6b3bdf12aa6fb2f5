"""Every table in one import (for Alembic, benchmarks and tools)."""
from models.assignment import HazardAssignment
from models.audit import AuditEvent
from models.base import Base
from models.checklist import AREAS, Checklist, ChecklistItem
from models.documents import Document, DocumentKind, Signature
from models.inspection import (Answer, AnswerResult, Hazard, HazardStatus, Inspection,
                               InspectionChecklist, InspectionInspector, InspectionStatus, Photo)
from models.planning import (InspectionPlan, InspectorAvoidance, PlanDraw, PlanningSettings,
                             PlanTask)
from models.registry import AgencySettings, Enterprise, Inspector, RiskColour

__all__ = [
    "AREAS", "AgencySettings", "Answer", "AnswerResult", "AuditEvent", "Base", "Checklist",
    "ChecklistItem", "Document", "DocumentKind", "Enterprise", "Hazard", "HazardAssignment", "HazardStatus",
    "Inspection", "InspectionChecklist", "InspectionInspector", "InspectionStatus", "Inspector",
    "InspectionPlan", "InspectorAvoidance", "Photo", "PlanDraw", "PlanTask", "PlanningSettings",
    "RiskColour", "Signature",
]
