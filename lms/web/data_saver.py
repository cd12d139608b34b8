"""Data Saver: lessons that do not load their embedded videos until the learner asks.

A learner on prepaid mobile data chooses it on their home page (stored on the account), or
leaves the choice to the browser: a browser in data-saving mode sends `Save-Data: on` with
every request (https://wicg.github.io/savedata/), and that is the default while the learner
has not chosen. With it on, each video in a lesson (the course's own files, and the YouTube and
Vimeo frames that courses/markdown.py lets through) is replaced by a placeholder naming the
video, with a button that loads it on that page, giving the file's size when it is known
(lms/static/js/lesson-video.js; without JavaScript the button is a link to the same lesson
with its videos).
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from flask import Request
from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import RadioField

from lms.services.errors import N_
from lms.web.forms import Form, choices

# An embedded player or a bundle's video as the sanitizer writes them (double-quoted values,
# `>` only at a tag's end, no tag inside a video but its text).
_VIDEO = re.compile(r'<(iframe|video)\b(?:[^>"]|"[^"]*")*>[^<]*</\1>')
_ATTRIBUTE = r'\s{name}="([^"]*)"'
_HOSTS = {"youtube": "YouTube", "vimeo": "Vimeo"}
# The title YouTube's and Vimeo's embed codes give every video: says nothing of this one.
_GENERIC_TITLES = {"youtube video player", "vimeo video player", ""}
# The query parameter that shows a lesson with its videos (the placeholder's link).
SHOW_VIDEOS = "videos"


# The choices, as (value, label): the form checks a choice sent; the home page writes the
# radio buttons from these plain values (building the WTForms form on each visit of the home
# page cost a fifth of a millisecond).
# The choices' texts (msgids): the home page translates them with its template's _(), which
# keeps texts per catalog; a lazy string is looked up again each time it is shown.
CHOICE_TEXTS = (
    ("auto", N_("Automatic: as the browser's data saving setting says")),
    ("on", N_("On: do not load videos in lessons until I ask")),
    ("off", N_("Off: load videos in lessons")),
)
CHOICES = tuple((value, _l(text)) for value, text in CHOICE_TEXTS)


class DataSaverForm(Form):
    """The learner's Data Saver choice."""

    data_saver = RadioField(_l("Data Saver"), choices=choices(CHOICES))


def choice_of(user) -> str:
    """'auto', 'on' or 'off': what the learner chose."""
    return {None: "auto", True: "on", False: "off"}[user.data_saver]


def stored(choice: str) -> bool | None:
    """What the account keeps for a choice of the form."""
    return {"auto": None, "on": True, "off": False}[choice]


def is_on(user, request: Request) -> bool:
    """Whether this learner's lessons skip their videos on this request."""
    if user.data_saver is not None:
        return user.data_saver
    return request.headers.get("Save-Data", "").strip().lower() == "on"


def _video_host(src: str) -> str:
    host = urlsplit(src).hostname or ""
    return next((name for key, name in _HOSTS.items() if key in host), host)


def size_text(size: int) -> str:
    """A file's size as a learner reads it, in the page's language: '12 MB', '1,5 MB'."""
    if size < 1_000_000:
        return f"{format_decimal(max(1, round(size / 1000)))} KB"
    megabytes = size / 1_000_000
    shown = round(megabytes, 1) if megabytes < 10 else round(megabytes)
    return f"{format_decimal(shown)} MB"


def _placeholder(video: str, number: int) -> str:
    def attribute(name: str) -> str:
        found = re.search(_ATTRIBUTE.format(name=name), video)
        return html.unescape(found.group(1)).strip() if found else ""

    name = attribute("title")
    heading = escape(name if name.lower() not in _GENERIC_TITLES else gettext("Video"))
    size = attribute("data-size")
    if video.startswith("<video"):
        # The course's own file: its size is known.
        note = gettext("Data Saver is on: this video is not loaded until you ask.")
        button = (
            gettext("Watch the video (about %(size)s)", size=size_text(int(size)))
            if size.isdigit()
            else gettext("Watch the video")
        )
    else:
        note = gettext(
            "Data Saver is on: this video from %(host)s is not loaded. Watching it uses a lot "
            "of mobile data (several MB a minute).",
            host=_video_host(attribute("src")),
        )
        button = gettext("Watch the video")
    anchor = f"video-{number}"
    return (
        f'<figure class="video-skipped" id="{anchor}">'
        f"<figcaption><strong>{heading}</strong>"
        f'<span class="hint">{escape(note)}</span></figcaption>'
        f'<a class="button" href="?{SHOW_VIDEOS}=1#{anchor}" data-load-video>'
        f"{escape(button)}</a>"
        f"<template>{video}</template></figure>"
    )


def skip_videos(lesson: Markup) -> tuple[Markup, int]:
    """A lesson's sanitized HTML with a placeholder for each embedded video, and their count."""
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        count += 1
        return _placeholder(match.group(0), count)

    shown = _VIDEO.sub(replace, str(lesson))
    return Markup(shown), count  # noqa: S704 - sanitized lesson, escaped texts
