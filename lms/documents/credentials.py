"""Initial logins after a bulk import: an XLSX per unit and a PDF of cut-out slips, handed to
the importing admin once, encrypted at rest until then, never in the job records."""

from __future__ import annotations

import hashlib
import io
import os
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from certificates.render import register_fonts
from lms.documents.spreadsheets import Column, write_xlsx

SLIPS_PER_PAGE = 8


@dataclass(frozen=True)
class Credential:
    """An initial login, returned once to be handed over; never stored in clear."""

    username: str
    full_name: str
    unit: str
    password: str
    due_day: date | None


def _key(secret_key: str, job_id: int) -> bytes:
    return hashlib.sha256(f"hocvu credentials\0{job_id}\0{secret_key}".encode()).digest()


def encrypt(data: bytes, secret_key: str, job_id: int) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_key(secret_key, job_id)).encrypt(nonce, data, b"hocvu")


def decrypt(blob: bytes, secret_key: str, job_id: int) -> bytes:
    return AESGCM(_key(secret_key, job_id)).decrypt(blob[:12], blob[12:], b"hocvu")


def _slug(text: str) -> str:
    """A file name from a unit's name: 'CĐCS Hà Lầm' -> 'cdcs-ha-lam'."""
    plain = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    words = "".join(ch for ch in plain if not unicodedata.combining(ch)).split()
    slug = "".join(ch if ch.isalnum() else "-" for ch in " ".join(words)).strip("-")
    return slug[:60] or "don-vi"


def workbook(credentials: list[Credential], unit: str, site: str) -> bytes:
    """One unit's logins as an XLSX sheet with Vietnamese headers.

    Written by write_xlsx, whose text cells stay text: openpyxl would store a full name
    typed as "=HYPERLINK(...)" as a formula that Excel runs.
    """
    columns = [
        Column("Họ và tên", width=30),
        Column("Đơn vị", width=40),
        Column("Tên đăng nhập", width=20),
        Column("Mật khẩu ban đầu", width=18),
        Column("Hạn hoàn thành", width=16),
        Column("Địa chỉ", width=36),
    ]
    rows = (
        [
            item.full_name,
            unit,
            item.username,
            item.password,
            item.due_day.strftime("%d/%m/%Y") if item.due_day else "",
            site,
        ]
        for item in credentials
    )
    buffer = io.BytesIO()
    write_xlsx(buffer, "Tài khoản", columns, rows, "UTC")  # no times in this sheet
    return buffer.getvalue()


def slips(credentials: list[Credential], site: str) -> bytes:
    """A4 pages of eight cut-out slips: name, unit, username, password, address, deadline."""
    fonts = register_fonts()
    buffer = io.BytesIO()
    width, height = A4
    canvas = Canvas(buffer, pagesize=A4, initialFontName=fonts["regular"])
    canvas.setTitle("Thông tin đăng nhập")
    slip_w, slip_h = width / 2, height / 4
    for index, item in enumerate(credentials):
        if index and index % SLIPS_PER_PAGE == 0:
            canvas.showPage()
        position = index % SLIPS_PER_PAGE
        x = (position % 2) * slip_w
        y = height - (position // 2 + 1) * slip_h
        canvas.setDash(3, 3)
        canvas.rect(x + 6, y + 6, slip_w - 12, slip_h - 12)
        canvas.setDash()
        left, top = x + 20, y + slip_h - 32
        canvas.setFont(fonts["bold"], 12)
        canvas.drawString(left, top, item.full_name[:48])
        canvas.setFont(fonts["regular"], 9)
        canvas.drawString(left, top - 15, item.unit[:70])
        canvas.setFont(fonts["regular"], 10)
        canvas.drawString(left, top - 38, f"Địa chỉ: {site}")
        canvas.drawString(left, top - 56, "Tên đăng nhập:")
        canvas.setFont(fonts["bold"], 13)
        canvas.drawString(left + 100, top - 56, item.username)
        canvas.setFont(fonts["regular"], 10)
        canvas.drawString(left, top - 76, "Mật khẩu ban đầu:")
        canvas.setFont(fonts["bold"], 13)
        canvas.drawString(left + 100, top - 76, item.password)
        canvas.setFont(fonts["regular"], 8.5)
        if item.due_day:
            canvas.drawString(
                left,
                top - 100,
                f"Hạn hoàn thành khóa học: 24:00 ngày {item.due_day.strftime('%d/%m/%Y')}",
            )
        canvas.drawString(left, top - 114, "Đổi mật khẩu ngay ở lần đăng nhập đầu tiên.")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def package(credentials: list[Credential], site: str) -> bytes:
    """A ZIP: an XLSX per unit and one PDF of slips for everyone."""
    by_unit: dict[str, list[Credential]] = defaultdict(list)
    for item in credentials:
        by_unit[item.unit].append(item)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for unit, items in sorted(by_unit.items()):
            archive.writestr(f"{_slug(unit)}.xlsx", workbook(items, unit, site))
        archive.writestr("phieu-dang-nhap.pdf", slips(credentials, site))
    return buffer.getvalue()
