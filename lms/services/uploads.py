"""How large an upload may be: one set of limits for a SCORM package, a course bundle (which
may hold packages, so it gets no less) and the request that carries either.

A package alone and the same package inside a bundle are checked with the same numbers, and
the site's request limit (MAX_CONTENT_LENGTH, lms/__init__.py) is set from them, so that a
file is never cut by the request limit before the upload's own check can say how large it is.
Sizes in messages are byte counts (`*_bytes` parameters) that lms.app.i18n.message_text shows
in the reader's number format.
"""

from __future__ import annotations

import courses.files
import scorm.package

MIB = 1024 * 1024

ARCHIVE_BYTES = 200 * MIB  # the uploaded zip: a package, or a course bundle
EXPANDED_BYTES = 500 * MIB  # all its files, expanded
FILE_BYTES = 200 * MIB  # one file in it (a video; a package inside a bundle)
FILES = 5000  # files in it
RATIO = 200  # expanded / compressed, per file over 1 MiB: more looks like a zip bomb

# The upload form around the file (the CSRF token, the course chosen, the file's headers).
FORM_BYTES = 1 * MIB
REQUEST_BYTES = ARCHIVE_BYTES + FORM_BYTES


def package_limits() -> scorm.package.Limits:
    """The limits of a SCORM package, alone or inside a bundle."""
    return scorm.package.Limits(
        max_archive_bytes=ARCHIVE_BYTES,
        max_total_bytes=EXPANDED_BYTES,
        max_file_bytes=FILE_BYTES,
        max_files=FILES,
        max_ratio=RATIO,
    )


def bundle_limits() -> courses.files.Limits:
    """The limits of a course bundle: those of a package (a bundle may be one package and a
    course.toml)."""
    return courses.files.Limits(
        max_archive_bytes=ARCHIVE_BYTES,
        max_total_bytes=EXPANDED_BYTES,
        max_file_bytes=FILE_BYTES,
        max_files=FILES,
        max_ratio=RATIO,
    )
