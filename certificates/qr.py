"""QR codes for the verification link, as a matrix of dark modules.

segno makes the code; the mask pattern is fixed instead of chosen by scoring all eight
(which is most of the cost): any reader decodes any mask, and the short URLs we encode read
reliably with mask 1.
"""

from __future__ import annotations

import segno


def qr_matrix(payload: str) -> list[list[bool]]:
    """Rows of booleans (True = dark), without the quiet zone."""
    code = segno.make_qr(payload, error="m", boost_error=False, mask=1)
    return [[bool(cell) for cell in row] for row in code.matrix]
