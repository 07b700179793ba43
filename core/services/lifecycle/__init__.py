"""Handling (办理) after registration: every step checked against the state machine,
the roles, recusal and the sector plugins, then written with its event, clocks and
notifications in one transaction — or refused with nothing written.

One module per seam: ``dispatch`` (perform: load, check, run the step, save, record),
``context`` (the step context and shared checks), ``notices`` (书面告知), ``transfer``
(转送, across departments and units), ``handling`` (accept to close, pauses, recusal),
``review`` (复查, 复核, 回访, 摘报), ``archive`` (立卷归档)."""

from core.services.lifecycle.archive import ArchivedMatter, ArchiveVolumeOut, archive_of
from core.services.lifecycle.dispatch import perform
from core.services.lifecycle.notices import Notice, record_notice

__all__ = [
    "ArchiveVolumeOut",
    "ArchivedMatter",
    "Notice",
    "archive_of",
    "perform",
    "record_notice",
]
