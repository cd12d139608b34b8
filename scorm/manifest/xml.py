"""Reading imsmanifest.xml safely: lxml without network access, DTD loading or entity
expansion (a manifest that declares entities is refused outright: XXE, "billion laughs"), the
namespaces of SCORM 1.2 and 2004, and small helpers over elements."""

from __future__ import annotations

import unicodedata
from typing import Any

from lxml import etree

from scorm.errors import N_, PackageError, Problem

MANIFEST = "imsmanifest.xml"

NS_IMSSS = "http://www.imsglobal.org/xsd/imsss"
NS_ADLSEQ = "http://www.adlnet.org/xsd/adlseq_v1p3"
NS_ADLNAV = "http://www.adlnet.org/xsd/adlnav_v1p3"
NS_ADLCP_12 = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
NS_ADLCP_2004 = "http://www.adlnet.org/xsd/adlcp_v1p3"
NS_CP_12 = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
NS_CP_2004 = "http://www.imsglobal.org/xsd/imscp_v1p1"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# Elements in these namespaces are never content-packaging elements, whatever their name.
EXTENSION_NS = {NS_IMSSS, NS_ADLSEQ, NS_ADLNAV, NS_ADLCP_12, NS_ADLCP_2004}


def parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def local_name(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def namespace_of(element: Any) -> str | None:
    return etree.QName(element).namespace if isinstance(element.tag, str) else None


def elements(parent: Any) -> list[Any]:
    return [c for c in parent if isinstance(c.tag, str)]


def cp(parent: Any, name: str) -> list[Any]:
    """Content-packaging children called `name`, whatever namespace the 1.2 tool used."""
    return [
        c for c in elements(parent) if local_name(c) == name and namespace_of(c) not in EXTENSION_NS
    ]


def adlcp(parent: Any, name: str) -> Any | None:
    """The first adlcp child called `name`, matched without case (1.2 and 2004 spell them apart)."""
    for child in elements(parent):
        if local_name(child).lower() == name.lower() and namespace_of(child) not in (
            NS_IMSSS,
            NS_ADLSEQ,
        ):
            return child
    return None


def text(element: Any | None) -> str:
    if element is None:
        return ""
    return unicodedata.normalize("NFC", " ".join("".join(element.itertext()).split()))


def attr_any(element: Any, name: str) -> str | None:
    """An attribute by local name, in any namespace, without case (adlcp:scormtype/scormType)."""
    for key, value in element.attrib.items():
        if etree.QName(key).localname.lower() == name.lower():
            return value
    return None


def first(elements: list[Any]) -> Any | None:
    return elements[0] if elements else None


def imsss(parent: Any, name: str) -> Any | None:
    return next(
        (c for c in elements(parent) if namespace_of(c) == NS_IMSSS and local_name(c) == name), None
    )


ENTITY_DECLARATIONS = [
    "<!ENTITY".encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-16-be")
]


def entities_refused(line: int | None) -> PackageError:
    return PackageError(
        [
            Problem(
                MANIFEST,
                line,
                N_("The manifest declares XML entities (<!ENTITY>); they are refused for safety."),
            )
        ]
    )


def load(xml: bytes) -> Any:
    """The root element, or PackageError for broken XML and entity declarations."""
    # Looked for before parsing: libxml2 reports an entity bomb as a cryptic syntax error.
    for declaration in ENTITY_DECLARATIONS:
        at = xml.find(declaration)
        if at != -1:
            utf8 = declaration == ENTITY_DECLARATIONS[0]
            raise entities_refused(xml[:at].count(b"\n") + 1 if utf8 else None)
    try:
        root = etree.fromstring(xml, parser())
    except etree.XMLSyntaxError as error:
        line = getattr(error, "lineno", None)
        raise PackageError(
            [Problem(MANIFEST, line, N_("XML syntax error: %(detail)s"), {"detail": str(error)})]
        ) from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.entities()):
        raise entities_refused(None)
    return root
