"""Reports: theory tables (Markdown + CSV) and figures from a sweep's ``cells.csv``."""

from .tables import FAMILY_ALPHA, Judgement, TheoryTable, judge, provenance_header, to_markdown, write_report

__all__ = ["FAMILY_ALPHA", "Judgement", "TheoryTable", "judge", "provenance_header", "to_markdown",
           "write_report"]
