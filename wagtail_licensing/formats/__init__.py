"""Reading and writing assignment files: CSV, XLSX and JSON, their limits and encodings.

Export: ``EXPORT_FORMATS`` (CSV, XLSX, JSON) write a ``tablib.Dataset``, such as
``resources.LicenseAssignmentResource`` exports. They are django-import-export's format classes
with formula escaping (``rules.escaping``) always on for CSV and XLSX, whatever
``IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT`` says.

Import: ``read_assignments(content, filename=)`` reads a file with the same format classes into
``ImportRow``s (row number, user, product, action), within the limits of ``limits``.

Modules: ``base`` (what the formats share), ``csv_format``, ``xlsx_format``, ``json_format``,
``registry`` (formats by name, detection), ``encoding``, ``limits``, ``reading``.
"""

from .csv_format import AssignmentCSV
from .json_format import AssignmentJSON
from .limits import check_file_size
from .reading import AssignmentFile, ImportRow, read_assignments
from .registry import EXPORT_FORMATS, FORMATS, detect_format
from .xlsx_format import AssignmentXLSX

__all__ = [
    "EXPORT_FORMATS", "FORMATS", "AssignmentCSV", "AssignmentFile", "AssignmentJSON",
    "AssignmentXLSX", "ImportRow", "check_file_size", "detect_format", "read_assignments",
]
