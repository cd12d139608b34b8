"""Lighter answers on weak connections: gzip for text answers (pages, CSS, JavaScript, JSON,
SVG) when the browser accepts it, and static files cached for a year in every mode (their
URLs carry a hash of the file, so a changed file gets a new URL).

Compression happens here so that a site without a proxy in front (`hocvu run`, a small
server) sends compressed pages too; nginx passes an answer that is already compressed on as
it is. Static files are compressed once per file version and kept in memory.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, request

COMPRESSIBLE = {
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/javascript",
    "application/javascript",
    "application/json",
    "image/svg+xml",
}
# Below this, gzip's header and the CPU cost more than the bytes saved.
MIN_SIZE = 1024
LEVEL = 6
YEAR = 31536000


def add_vary(response: Response, value: str) -> None:
    """Add `value` to the response's Vary header, as response.vary.add does, in one look at
    the headers (every answer of the site passes here once or twice)."""
    headers = response.headers
    current = next((v for name, v in headers if name.lower() == "vary"), None)
    if current is None:
        headers.add("Vary", value)
    elif value.lower() not in (part.strip().lower() for part in current.split(",")):
        headers.set("Vary", f"{current}, {value}")


@lru_cache(maxsize=256)
def _static_gzip(path: str, _mtime_ns: int) -> bytes:
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def _compress(response: Response, static_root: Path) -> Response:
    if response.direct_passthrough:
        # A static file sent as a stream: its compressed bytes come from the cache.
        if request.endpoint != "core.static" or not request.view_args:
            return response
        path = (static_root / request.view_args["filename"]).resolve()
        if static_root not in path.parents or not path.is_file():
            return response
        body = _static_gzip(str(path), path.stat().st_mtime_ns)
        response.close()
        response.direct_passthrough = False
        response.set_data(body)
    else:
        response.set_data(gzip.compress(response.get_data(), compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(response.get_data()))
    etag, weak = response.get_etag()
    if etag and not weak:
        # The compressed bytes are another representation of the same file.
        response.set_etag(etag, weak=True)
    return response


def init_compression(
    app: Flask, static_folder: str, blueprints: frozenset[str] | None = None
) -> None:
    """Compress text answers for browsers that accept gzip (HOCVU_COMPRESS, on by default),
    and let browsers keep versioned static files for a year. Mounted in a host application,
    only Hocvu's own `blueprints` are touched."""
    static_root = Path(static_folder).resolve()

    @app.after_request
    def compress(response: Response) -> Response:
        # Every answer passes here: the request is looked up once and the response's headers
        # read in one pass (werkzeug's lookup of a missing header raises inside).
        served = request._get_current_object()
        if blueprints is not None and served.blueprint not in blueprints:
            return response
        if served.endpoint == "core.static" and served.args.get("v"):
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        if not app.config.get("HOCVU_COMPRESS", True) or served.method == "HEAD":
            return response
        if response.status_code != 200 or response.mimetype not in COMPRESSIBLE:
            return response
        length = response.content_length
        if length is not None and length < MIN_SIZE:
            # Sent as it is whatever the request accepts (a SCORM commit's answer): it does not
            # vary with Accept-Encoding, so Vary does not name it (RFC 9110 12.5.5).
            return response
        add_vary(response, "Accept-Encoding")
        accepted = served.environ.get("HTTP_ACCEPT_ENCODING", "")
        if "gzip" not in accepted.lower() or "Content-Encoding" in response.headers:
            return response
        if response.is_streamed and not response.direct_passthrough:
            return response  # generated as it goes (a CSV export): left as it is
        return _compress(response, static_root)
