"""The embedded font subsets: made once, reused, and covering every Vietnamese letter.

The certificate must print any Vietnamese name in the embedded Be Vietnam Pro (never a missing
glyph box), and its text must extract with the diacritics (PDF 32000-1, 9.10.3: the ToUnicode
map), whichever subset a character lands in.
"""

from __future__ import annotations

import io
import re
import struct
import subprocess
import unicodedata
from dataclasses import replace

from pypdf import PdfReader

from certificates.fonts import FIXED_CHARACTERS, vietnamese_letters
from certificates.render import render_pdf
from tests.certificates.test_certificates import DATA

RARE = "Hoàng Thị Ỷ Ỹ Ỡ Ựa ỹ ỡ ự Ẵ Ẳ Ỵ Ẩ Ở"


def _fonts(pdf: bytes) -> dict[str, list[dict]]:
    """{face name: [its subsets as {"to_unicode": {code: char}, "glyphs": {code: outline bytes},
    "file": font file bytes}]} for the fonts on the page."""
    reader = PdfReader(io.BytesIO(pdf))
    faces: dict[str, list[dict]] = {}
    for ref in reader.pages[0]["/Resources"]["/Font"].values():
        font = ref.get_object()
        face = str(font["/BaseFont"]).split("+", 1)[1]
        data = font["/FontDescriptor"]["/FontFile2"].get_data()
        faces.setdefault(face, []).append(
            {
                "to_unicode": _to_unicode(font["/ToUnicode"].get_data().decode("ascii")),
                "glyphs": _glyph_outlines(data),
                "file": data,
            }
        )
    return faces


def _to_unicode(cmap: str) -> dict[int, str]:
    """The bfchar entries "<code> <unicode>" of a ToUnicode CMap."""
    pairs = {}
    for code, char in re.findall(r"^<([0-9A-F]{2})> <([0-9A-F]{4})>$", cmap, re.MULTILINE):
        if int(char, 16):
            pairs[int(code, 16)] = chr(int(char, 16))
    return pairs


def _glyph_outlines(font: bytes) -> dict[int, bytes]:
    """Byte code -> the glyph's outline data, read from the subset's own tables (its cmap is
    the (1, 0) format 6 table reportlab writes; loca and glyf as in the TrueType spec)."""
    tables = {}
    for index in range(struct.unpack(">H", font[4:6])[0]):
        tag, _, offset, length = struct.unpack(">4sLLL", font[12 + 16 * index : 28 + 16 * index])
        tables[tag.decode()] = font[offset : offset + length]
    cmap = tables["cmap"]
    assert struct.unpack(">HHHHL", cmap[:12])[1:3] == (1, 1) and cmap[12:14] == b"\0\6"
    first, count = struct.unpack(">HH", cmap[18:22])
    glyph_ids = struct.unpack(f">{count}H", cmap[22 : 22 + 2 * count])
    long_offsets = struct.unpack(">h", tables["head"][50:52])[0] == 1
    loca = tables["loca"]
    if long_offsets:
        offsets = struct.unpack(f">{len(loca) // 4}L", loca)
    else:
        offsets = [2 * o for o in struct.unpack(f">{len(loca) // 2}H", loca)]
    return {
        first + code: tables["glyf"][offsets[glyph] : offsets[glyph + 1]]
        for code, glyph in enumerate(glyph_ids)
        if glyph
    }


def _covered(subsets: list[dict], text: str) -> set[str]:
    """The characters of `text` that one of the subsets maps to a glyph with an outline."""
    covered = set()
    for subset in subsets:
        for code, char in subset["to_unicode"].items():
            if char in text and len(subset["glyphs"].get(code, b"")) > 10:
                covered.add(char)
    return covered


def _pdftotext(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True
    )
    return unicodedata.normalize("NFC", result.stdout.decode())


def test_the_fixed_set_is_the_whole_vietnamese_alphabet():
    letters = vietnamese_letters()
    assert len(letters) == len(set(letters)) == 134  # 12 vowels x 6 tones - 6 ASCII, x2, + đĐ
    for letter in "ỶỹỠựđĐăâêôơưẶậ":
        assert letter in letters
    assert unicodedata.is_normalized("NFC", FIXED_CHARACTERS)


def test_rare_vietnamese_letters_in_a_name_are_embedded_and_extract(tmp_path):
    pdf = render_pdf(replace(DATA, learner_name=RARE, unit="Tổ Ỷ Lan ự"))
    fonts = _fonts(pdf)
    name_letters = set(RARE.replace(" ", ""))
    assert _covered(fonts["BeVietnamPro-Bold"], RARE) == name_letters
    assert _covered(fonts["BeVietnamPro-Regular"], "Tổ Ỷ Lan ự") == set("TổỶLanự")
    text = _pdftotext(pdf, tmp_path)
    assert RARE in text and "Đơn vị: Tổ Ỷ Lan ự" in text


def test_every_vietnamese_letter_prints_from_the_embedded_font(tmp_path):
    letters = vietnamese_letters()
    words = [letters[i : i + 12] for i in range(0, len(letters), 12)]
    name = " ".join(words)
    pdf = render_pdf(replace(DATA, learner_name=name))
    assert _covered(_fonts(pdf)["BeVietnamPro-Bold"], name) == set(letters)
    text = _pdftotext(pdf, tmp_path)
    assert all(word in text for word in words)


def test_a_letter_outside_the_fixed_set_is_still_embedded(tmp_path):
    name = "Đặng Ñoño Müller Øre"
    pdf = render_pdf(replace(DATA, learner_name=name))
    assert _covered(_fonts(pdf)["BeVietnamPro-Bold"], name) == set(name.replace(" ", ""))
    assert name in _pdftotext(pdf, tmp_path)


def test_certificates_with_different_names_embed_the_same_font_bytes():
    """The bold subset does not depend on the name, so it is made once and reused."""
    first = _fonts(render_pdf(replace(DATA, learner_name="Lò Văn Hặc")))
    second = _fonts(render_pdf(replace(DATA, learner_name=RARE, unit="Tổ Ỷ Lan")))
    for face in ("BeVietnamPro-Bold", "BeVietnamPro-Regular"):
        assert [s["file"] for s in first[face]] == [s["file"] for s in second[face]], face
