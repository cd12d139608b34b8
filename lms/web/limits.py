"""How much of a request body Hocvu reads: decided per endpoint before anything reads it.

One hook, the second of the request hooks (after the request id, before the CSRF check, which
reads the form), sets each request's limit:

- an endpoint declared with `@body_limit(...)` takes what it declares: the uploads the site's
  MAX_CONTENT_LENGTH, the public certificate check 5 MB, the SCORM commit 2 MB;
- a request without a login gets HOCVU_MAX_ANONYMOUS_BODY_BYTES (and no more than that even
  where a view declares more, unless the declaration says `anonymous=True`);
- any other request of a logged-in user gets HOCVU_MAX_FORM_BODY_BYTES.

A body with a declared length over the limit is refused (413) by the first read, before a byte
is read (Werkzeug's get_input_stream). A body sent without a length (chunked) is cut off with
a 413 as soon as the bytes read pass the limit: Werkzeug alone caps such a body but, reading it
whole (request.get_data, an urlencoded form), stops at the cap without an error, so a cut form
or JSON document would be taken as the whole.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TypeVar

from flask import Flask, Request, current_app, g, request
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from lms.app.i18n import format_number

# The site's largest body, for uploads of packages, courses and account lists.
UPLOADS = "MAX_CONTENT_LENGTH"

# Methods whose body Hocvu never reads: they get the small limit without a login lookup.
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

View = TypeVar("View", bound=Callable)


@dataclass(frozen=True)
class BodyLimit:
    """What a view declares it reads: bytes, or the name of the setting that holds them."""

    size: int | str
    anonymous: bool = False  # the limit holds for requests without a login too

    def bytes(self) -> int:
        """The limit in bytes."""
        if isinstance(self.size, str):
            return int(current_app.config[self.size])
        return self.size


def body_limit(size: int | str, *, anonymous: bool = False) -> Callable[[View], View]:
    """Declare the largest body a view reads, in bytes or as the name of a setting.

    Without `anonymous=True` the declaration is for logged-in users; a request without a
    login keeps the small anonymous limit.
    """

    def declare(view: View) -> View:
        view.hocvu_body_limit = BodyLimit(size, anonymous)  # type: ignore[attr-defined]
        return view

    return declare


def init_app(app: Flask) -> None:
    """Set each request's body limit in a hook that runs before anything reads the body."""

    @app.before_request
    def limit_body() -> None:
        served = request._get_current_object()  # once, not through the proxy each time
        if served.blueprint not in app.extensions.get("hocvu_blueprints", ()):
            return  # a host application's pages, and the health checks, read no Hocvu body
        limit = _limit_of_request(served)
        g.hocvu_body_limit = limit
        if served.content_length is None:
            # Sent without a length (chunked): this stream ends it with a 413 past the limit;
            # Werkzeug's own cap is set one byte further so that it never cuts first.
            served.environ["wsgi.input"] = CappedInput(served.environ["wsgi.input"], limit)
            served.max_content_length = limit + 1
        else:
            served.max_content_length = limit


def _limit_of_request(served) -> int:
    config = current_app.config
    view = current_app.view_functions.get(served.endpoint or "")
    declared: BodyLimit | None = getattr(view, "hocvu_body_limit", None)
    if declared is not None and declared.anonymous:
        return declared.bytes()
    small = int(config["HOCVU_MAX_ANONYMOUS_BODY_BYTES"])
    if served.method in _BODYLESS_METHODS or not current_user.is_authenticated:
        return min(small, declared.bytes()) if declared is not None else small
    if declared is not None:
        return declared.bytes()
    return int(config["HOCVU_MAX_FORM_BODY_BYTES"])


def read_body(served: Request) -> bytes:
    """The request's whole body within its limit (RequestEntityTooLarge past it), as
    `request.get_data()` reads it. A body of a declared length is read in one call on the
    server's input: Werkzeug's stream reads it through a loop of chunked reads and checks,
    which cost a SCORM commit (the busiest request) twice its JSON's decoding. A shorter body
    (the client went away) is returned short, for the caller's parser to refuse; a chunked
    body goes through Werkzeug's stream and the cap set by the hook above."""
    length = served.content_length
    if length is None:
        return served.get_data()
    limit = served.max_content_length
    if limit is not None and length > limit:
        raise RequestEntityTooLarge()
    return served.environ["wsgi.input"].read(length) if length else b""


def too_large_message() -> str:
    """What the 413 page says: the limit of the page the body was sent to."""
    # Outside Hocvu's blueprints the site's ceiling applies (always set by init_app).
    limit = g.get("hocvu_body_limit") or current_app.config["MAX_CONTENT_LENGTH"]
    unit, name = (1024 * 1024, "MB") if limit >= 1024 * 1024 else (1024, "KB")
    # Rounded down to a tenth: "5 MB" for the certificate check's 5 MB and its form around it.
    size = f"{format_number(math.floor(limit / unit * 10) / 10)} {name}"
    return gettext("What was sent is larger than this page accepts (at most %(size)s).", size=size)


class CappedInput(io.RawIOBase):
    """A WSGI input that raises 413 once more than `limit` bytes have been read from it."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        # One byte past the limit is asked for, so that a longer body is noticed, never more.
        wanted = min(len(buffer), self._limit + 1 - self._read)
        data = self._stream.read(wanted)
        self._read += len(data)
        if self._read > self._limit:
            raise RequestEntityTooLarge()
        buffer[: len(data)] = data
        return len(data)
