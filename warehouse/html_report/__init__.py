"""`nianbao report`: the warehouse as one offline HTML page of charts (queries -> charts -> page)."""

from warehouse.html_report.page import ReportInfo, write_report
from warehouse.html_report.queries import ReportError

__all__ = ["ReportError", "ReportInfo", "write_report"]
