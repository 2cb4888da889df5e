"""Reports: results going out as documents — Excel lists and workbooks (later PDF and Word
briefings), built from stored runs and the analysis layer's results, never from raw tables alone.

``mujun_excel``: the published per-mu lists in the public-notice layout (``public_lists``) and a
county's full workbook (``county_workbook``).
"""

from shanhai.reports.mujun_excel import Exported, county_workbook, public_lists

__all__ = ["Exported", "county_workbook", "public_lists"]
