"""What a package loads from other origins (scorm.external): the URLs a content policy
confined to the package's origin blocks (CSP Level 3 `default-src`: scripts, styles, fonts,
images, frames, media, connections), each with its file and line."""

from __future__ import annotations

from scorm.external import external_urls, origin_of_url

PAGE = b"""<!doctype html>
<html><head>
<script src="https://cdn.jsdelivr.net/npm/jquery@3/dist/jquery.min.js"></script>
<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Roboto">
<link rel="canonical" href="https://example.com/">
<style>body { background: url(https://img.example.com/bg.png) }</style>
</head><body>
<a href="https://dichvucong.gov.vn">Cong dich vu cong</a>
<img srcset="https://i.example.com/a.png 1x, b.png 2x" src="local.png">
<script>fetch("https://api.example.com/x"); var ns = "http://www.w3.org/2000/svg";</script>
<iframe src="https://www.youtube.com/embed/abc"></iframe>
<video poster="poster.jpg"><source src="media/intro.mp4"></video>
</body></html>"""

SCRIPT = b"""// jQuery, see https://jquery.org/license
var lib = "https://cdn.example.org/lib.js";
var host = "https://" + name;
AddLicenseInfo("Wikipedia", "http://en.wikipedia.org/wiki/Golf");
window.open("https://vneid.gov.vn");
xhr.open("POST", "https://lrs.example.com/statements");
tag.src = "https://www.googletagmanager.com/gtag/js?id=G-1";
document.write('<script src=\\"https://code.jquery.com/jquery.min.js\\"></scr' + 'ipt>');
"""

STYLE = b"""@import "https://fonts.example.com/a.css";
.x { src: url('https://fonts.gstatic.com/s/x.woff2') format("woff2"); }
.y { background: url(img/y.png); }
"""

MANIFEST = b"""<?xml version="1.0"?>
<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xsi:schemaLocation="http://www.imsglobal.org/xsd/imscp_v1p1 imscp_v1p1.xsd">
  <resources><resource identifier="r" href="https://external.example.com/sco.html"/></resources>
</manifest>"""


def found(files):
    return [(f.path, f.line, f.url) for f in external_urls(files)]


def test_a_page_names_what_it_loads_not_what_it_links_to():
    """Fetch directives: script, style (link rel=stylesheet, <style>), img srcset, frame,
    connect (fetch); an <a> link or rel=canonical is not fetched."""
    assert found({"index.html": PAGE}) == [
        ("index.html", 3, "https://cdn.jsdelivr.net/npm/jquery@3/dist/jquery.min.js"),
        ("index.html", 4, "//fonts.googleapis.com/css?family=Roboto"),
        ("index.html", 6, "https://img.example.com/bg.png"),
        ("index.html", 9, "https://i.example.com/a.png"),
        ("index.html", 10, "https://api.example.com/x"),
        ("index.html", 11, "https://www.youtube.com/embed/abc"),
    ]


def test_a_script_names_what_it_loads_not_credits_or_links():
    """XHR, src assignment, markup written with src=, and a file of a loaded kind (.js);
    a credit line, window.open (a navigation) and a bare "https://" are not."""
    assert found({"js/app.js": SCRIPT}) == [
        ("js/app.js", 6, "https://lrs.example.com/statements"),
        ("js/app.js", 7, "https://www.googletagmanager.com/gtag/js?id=G-1"),
        ("js/app.js", 8, "https://code.jquery.com/jquery.min.js"),
        ("js/app.js", 2, "https://cdn.example.org/lib.js"),
    ]


def test_a_style_sheet_names_its_imports_and_fonts():
    assert found({"css/site.css": STYLE}) == [
        ("css/site.css", 1, "https://fonts.example.com/a.css"),
        ("css/site.css", 2, "https://fonts.gstatic.com/s/x.woff2"),
    ]


def test_the_manifest_names_external_resources_not_its_namespaces():
    assert found({"imsmanifest.xml": MANIFEST}) == [
        ("imsmanifest.xml", 4, "https://external.example.com/sco.html")
    ]


def test_other_files_and_a_self_contained_package_give_nothing():
    assert found({"notes.txt": b'src="https://a.example.com/x.js"', "media/a.mp4": b"\0"}) == []
    assert found({"index.html": b'<script src="js/app.js"></script><img src="a.png">'}) == []


def test_an_origin_is_scheme_host_and_a_port_other_than_the_default():
    """RFC 6454 origins, as a CSP source expression writes them."""
    assert origin_of_url("https://CDN.example.com:443/a.js") == "https://cdn.example.com"
    assert origin_of_url("//fonts.example.com/x") == "https://fonts.example.com"
    assert origin_of_url("http://a.example.com:8080/") == "http://a.example.com:8080"
    assert origin_of_url("https://") is None
