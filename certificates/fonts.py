"""TrueType fonts for reportlab whose embedded subsets are made once per process.

reportlab embeds a subset of each TrueType face in every document: the glyphs of the characters
used, in the order they first appear. Making that subset and compressing it cost more than
drawing a certificate's page, and it was done again for every certificate. `CachedSubsetTTFont`:

- looks each document's subsets up by their content (the characters in code order); the embedded
  objects (compressed font file, compressed ToUnicode map, widths) are made for the first document
  that uses a subset and reused byte for byte by the next ones;
- can start every document with a fixed subset (`FIXED_CHARACTERS`: ASCII, every Vietnamese
  letter in both cases, the typographic punctuation Vietnamese text uses). A face that prints a
  learner's own text (a name) then has the same subset whatever the name, so it is found again;
  a character outside the fixed set (a foreign letter) is added after the fixed ones as usual,
  which makes one new subset for that document. The price is a larger file: the fixed subset
  holds about 250 glyphs where a certificate uses about 90.

A face that prints only the template's own text (the same on every certificate of a batch)
needs no fixed subset: its ordinary subset is found again, and the file stays smaller.
"""

from __future__ import annotations

import unicodedata
import zlib
from functools import lru_cache

from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.ttfonts import (
    FF_NONSYMBOLIC,
    FF_SYMBOLIC,
    SUBSETN,
    TTFont,
    makeToUnicodeCMap,
)


def vietnamese_letters() -> str:
    """The letters of the Vietnamese alphabet that are not ASCII, lower and upper case: the
    twelve vowels with each of the five tone marks (and without, for ă â ê ô ơ ư), and đ."""
    tones = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
    letters = []
    for vowel in "aăâeêioôơuưy":
        for tone in tones:
            for case in (vowel, vowel.upper()):
                letter = unicodedata.normalize("NFC", case + tone)
                if not letter.isascii():
                    letters.append(letter)
    return "".join(letters) + "đĐ"


# Code 0 is .notdef and 32-126 are ASCII (so the space is code 32, as word spacing needs);
# these go in the 160 codes left, in this order.
FIXED_CHARACTERS = vietnamese_letters() + "“”‘’–—·…"


class CachedSubsetTTFont(TTFont):
    """A TrueType font whose embedded subsets are made once and reused (see the module)."""

    def __init__(self, name: str, filename: str, fixed: str = "") -> None:
        super().__init__(name, filename)
        self._seed = self._seed_subset(fixed) if fixed else None

    def _seed_subset(self, fixed: str) -> tuple[list[int], dict[int, int]]:
        glyphs = self.face.charToGlyph
        missing = [c for c in fixed if ord(c) not in glyphs]
        if missing:
            raise ValueError(f"{self.fontName} has no glyph for {''.join(missing)!r}")
        extra = [ord(c) for c in fixed]
        if len(extra) > 256 - 96:
            raise ValueError("the fixed subset has more characters than one subset holds")
        subset = [0, *extra[:31], *range(32, 127), *extra[31:]]
        assignments = {code: index for index, code in enumerate(subset) if code in glyphs}
        assignments[0] = 0
        return subset, assignments

    def _state(self, doc) -> TTFont.State:
        state = self.state.get(doc)
        if state is None:
            state = self.state[doc] = TTFont.State(self._asciiReadable, self)
            if self._seed is not None:
                subset, assignments = self._seed
                state.subsets = [list(subset)]
                state.assignments = dict(assignments)
                state.nextCode = len(subset)  # further characters follow the fixed ones
        return state

    def splitString(self, text, doc, encoding="utf-8"):
        self._state(doc)
        return super().splitString(text, doc, encoding)

    def getSubsetInternalName(self, subset, doc):
        self._state(doc)
        return super().getSubsetInternalName(subset, doc)

    def addObjects(self, doc) -> None:
        """The Font, FontDescriptor, font file and ToUnicode objects of each subset used in
        `doc`, as reportlab's TTFont makes them, from the bytes made for the first document."""
        state = self._state(doc)
        state.frozen = 1
        for number, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(number, doc)[1:]
            embedded = _embedded(self, number, tuple(subset))
            base_font = embedded.base_font

            font_file = pdfdoc.PDFStream(
                pdfdoc.PDFDictionary({"Length1": len(embedded.font_file)}),
                embedded.font_file,
            )
            cmap = pdfdoc.PDFStream(pdfdoc.PDFDictionary(), embedded.to_unicode)
            if doc.compression:  # already compressed: given as the filter, not applied
                font_file.dictionary["Filter"] = pdfdoc.PDFName("FlateDecode")
                font_file.content = embedded.font_file_compressed
                cmap.dictionary["Filter"] = pdfdoc.PDFName("FlateDecode")
                cmap.content = embedded.to_unicode_compressed
            face = self.face
            descriptor = pdfdoc.PDFDictionary(
                {
                    "Type": "/FontDescriptor",
                    "Ascent": face.ascent,
                    "CapHeight": face.capHeight,
                    "Descent": face.descent,
                    "Flags": (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
                    "FontBBox": pdfdoc.PDFArray(face.bbox),
                    "FontName": pdfdoc.PDFName(base_font),
                    "ItalicAngle": face.italicAngle,
                    "StemV": face.stemV,
                    "FontFile2": doc.Reference(font_file, f"fontFile:{face.filename}({base_font})"),
                    "MissingWidth": face.defaultWidth,
                }
            )

            font = pdfdoc.PDFTrueTypeFont()
            font.__Comment__ = f"Font {self.fontName} subset {number}"
            font.Name = internal_name
            font.BaseFont = base_font
            font.FirstChar = 0
            font.LastChar = len(subset) - 1
            font.Widths = embedded.widths
            font.ToUnicode = doc.Reference(cmap, "toUnicodeCMap:" + base_font)
            font.FontDescriptor = doc.Reference(descriptor, "fontDescriptor:" + base_font)
            doc.Reference(font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = font
        del self.state[doc]


class _Embedded:
    """The bytes of one subset's objects, the same in every document that uses the subset."""

    def __init__(self, font: CachedSubsetTTFont, number: int, subset: tuple[int, ...]) -> None:
        face = font.face
        self.base_font = b"".join((SUBSETN(number), b"+", face.name, face.subfontNameX)).decode(
            "pdfdoc"
        )
        self.font_file = face.makeSubset(list(subset))
        self.font_file_compressed = zlib.compress(self.font_file, 9)
        self.to_unicode = makeToUnicodeCMap(self.base_font, list(subset)).encode("ascii")
        self.to_unicode_compressed = zlib.compress(self.to_unicode, 9)
        self.widths = f"[{fp_str(*map(face.getCharWidth, subset))}]".encode("ascii")


@lru_cache(maxsize=64)
def _embedded(font: CachedSubsetTTFont, number: int, subset: tuple[int, ...]) -> _Embedded:
    """Made on first use; at most 64 subsets (about 25 KB each) are kept."""
    return _Embedded(font, number, subset)
