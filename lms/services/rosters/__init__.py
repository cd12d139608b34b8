"""Account lists ("danh sách học viên"): reading a CSV or XLSX file as people make it,
checking every row (the dry run), and writing the accounts, all rows or none.

By concern: `reading` (encodings, delimiters, headers), `planning` (the dry run of the
accounts), `preview` (the batches, due dates and warnings of the check page) and `committing`
(the import itself). Callers use the names re-exported here.
"""

from lms.services.rosters.committing import ImportResult, commit_import, common_unit
from lms.services.rosters.planning import (
    NewUnit,
    Plan,
    RowPlan,
    UnitFinder,
    clean_username_or_blank,
    parse_date,
    plan_import,
    suggest_username,
)
from lms.services.rosters.preview import BatchPreview, DueDate, Preview, Warning, preview
from lms.services.rosters.reading import (
    HEADERS,
    MAX_ROWS,
    REQUIRED,
    TEMPLATE_HEADERS,
    Table,
    decode,
    read_csv,
    read_file,
    read_xlsx,
)

__all__ = [
    "HEADERS",
    "MAX_ROWS",
    "REQUIRED",
    "TEMPLATE_HEADERS",
    "BatchPreview",
    "DueDate",
    "ImportResult",
    "NewUnit",
    "Plan",
    "Preview",
    "RowPlan",
    "Table",
    "UnitFinder",
    "Warning",
    "clean_username_or_blank",
    "commit_import",
    "common_unit",
    "decode",
    "parse_date",
    "plan_import",
    "preview",
    "read_csv",
    "read_file",
    "read_xlsx",
    "suggest_username",
]
