"""Reports: theory tables (Markdown + CSV) and figures from a sweep's ``cells.csv``."""

from .tables import (FAMILY_ALPHA, QUICK_NOTE, Judgement, TheoryTable, caps_note, is_quick, judge,
                     provenance_header, to_markdown, write_report)
from . import display  # noqa: E402 - installs the notebook renderer of TheoryTable

__all__ = ["FAMILY_ALPHA", "Judgement", "QUICK_NOTE", "TheoryTable", "caps_note", "is_quick",
           "judge", "provenance_header", "to_markdown", "write_report"]
