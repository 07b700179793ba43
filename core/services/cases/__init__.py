"""Cases: registration (登记) and reading. The lifecycle after registration lives in
``core.services.lifecycle``; what a new matter is, in ``core.domain.registration``."""

from core.services.cases.answers import (
    CaseBase,
    CaseDetail,
    CaseEventOut,
    CaseListItem,
    CasePage,
    CaseVisitor,
    ContactCopyOut,
    MatterBrief,
    Representative,
    VisitorBrief,
)
from core.services.cases.reading import count_cases, find_cases, get_case, list_cases
from core.services.cases.registration import new_receipt_code, register_case

__all__ = [
    "CaseBase",
    "CaseDetail",
    "CaseEventOut",
    "CaseListItem",
    "CasePage",
    "CaseVisitor",
    "ContactCopyOut",
    "MatterBrief",
    "Representative",
    "VisitorBrief",
    "count_cases",
    "find_cases",
    "get_case",
    "list_cases",
    "new_receipt_code",
    "register_case",
]
