"""Normalisation, Vietnamese ordering and accent-free search keys."""

from __future__ import annotations

import pytest

from lms.services.errors import DomainError
from lms.services.text import clean_phone, clean_text, clean_username, fold, sort_key


def test_names_sort_by_given_name_in_vietnamese_alphabet_order():
    names = [
        "Đỗ Thị Lan",
        "Bùi Thị Hoa",
        "Nguyễn Văn An",
        "Hoàng Đức",
        "Phạm Văn Dũng",
        "Lê Ăn",
        "Ngô Thị Ân",
        "Trần Văn Anh",
        "Vũ Thị Ánh",
    ]
    assert sorted(names, key=sort_key) == [
        "Nguyễn Văn An",
        "Trần Văn Anh",
        "Vũ Thị Ánh",
        "Lê Ăn",
        "Ngô Thị Ân",
        "Phạm Văn Dũng",
        "Hoàng Đức",
        "Bùi Thị Hoa",
        "Đỗ Thị Lan",
    ]


def test_sort_key_is_digits_only_and_form_independent():
    key = sort_key("Nguyễn Thị Ánh")
    assert key.isdigit()
    decomposed = "Nguye\u0302\u0303n Thi\u0323 A\u0301nh"
    assert sort_key(decomposed) == key
    assert sort_key("  ") == ""


def test_fold_removes_diacritics_and_d_stroke():
    assert fold("Đỗ Thị Ánh  NGUYỄN") == "do thi anh nguyen"
    assert fold(None) == ""


def test_clean_text_is_nfc_and_folds_spaces_and_controls():
    assert clean_text(" Nguye\u0302\u0303n\tVăn\u0000  An ") == "Nguyễn Văn An"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0912 345 678", "0912345678"),
        ("+84 912.345.678", "0912345678"),
        ("84912345678", "0912345678"),
        ("(024) 3825 1234", "02438251234"),
        ("", None),
    ],
)
def test_phone_numbers_are_normalised(raw, expected):
    assert clean_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "0123456789", "091234567a", "+1 202 555 0100"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(DomainError):
        clean_phone(raw)


@pytest.mark.parametrize("raw", ["ab", "nguyễn", "-bad", "có dấu", "x" * 65, "a b c"])
def test_bad_usernames_are_refused(raw):
    with pytest.raises(DomainError):
        clean_username(raw)
