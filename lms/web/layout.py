"""The layout around every page, made once per process for each kind of page.

Rendering hocvu/base.html's head, header and footer took about a third of a millisecond on
every page (twenty URLs, a dozen translations, the account's menu; bench/learner_pages.py,
issue 24), while they differ only by the language, whether someone is signed in, their menu
and its current item, and six values of the request. hocvu/_layout.html is rendered once for
each such kind with markers in place of the request's values and of the page's blocks, cut at
the block markers, and kept; a page writes the request's values, escaped, into the kept parts.

Not kept (rendered on every page, as before): in debug mode or when templates reload (an
edited template shows at once), and when Hocvu is mounted in a host application (its URL
defaults may depend on the request). Nothing of an account is kept: the kept text holds only
the markers.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from flask import Flask, request
from flask_login import current_user
from markupsafe import Markup, escape

from lms.app.i18n import locale_code
from lms.models import Role
from lms.web import offline
from lms.web.forms import LANGUAGES

# Where the page's blocks go (title, main's class, flashed messages, content, scripts) ...
_SLOT = "\ue000hocvu-slot\ue000"
_PARTS = 6
# ... and the request's values: markers no escaping changes, replaced after escaping the value.
_VALUES = ("id", "username", "full_name", "csrf", "user_key", "next")
_MARK = {name: f"\ue001{name}\ue001" for name in _VALUES}
_MARKS = re.compile("\ue001(" + "|".join(_VALUES) + ")\ue001")
# The menu's items, by the account's roles, and the blueprint that makes each current.
_LANGUAGE_CODES = tuple(code for code, _name in LANGUAGES)
KEPT = 256


def _menu(user) -> tuple[str, ...]:
    """The menu items besides "My courses" that the account's roles give (as User's
    has_role, is_author and is_admin say, from one look at the roles)."""
    roles = {assignment.role for assignment in user.roles}
    items = []
    if Role.TRAINER in roles:
        items.append("classes")
    if Role.TEAM_MEMBER in roles:
        items.append("teams")
    if roles & {Role.AUTHOR, Role.SITE_ADMIN}:
        items.append("author")
    if roles & {Role.SITE_ADMIN, Role.UNIT_ADMIN}:
        items.append("admin")
    return tuple(items)


def _current() -> str | None:
    blueprint = request.blueprint
    if blueprint == "classes" and request.endpoint == "classes.check_in":
        return None  # a learner checking in is not in "My classes"
    return blueprint


def init_layout(app: Flask, standalone: bool) -> None:
    """Give the templates page_layout(): the layout's six parts with this request's values."""
    kept: dict[tuple, tuple[tuple[str, ...], ...]] = {}
    template_name = "hocvu/_layout.html"

    def site_name() -> str:
        return app.config["HOCVU_SITE_NAME"]

    def render(
        locale: str, signed_in: bool, menu: tuple[str, ...], current
    ) -> tuple[tuple[str, ...], ...]:
        marks = {name: Markup(mark) for name, mark in _MARK.items()}  # noqa: S704 - our markers
        me = None
        if signed_in:
            me = SimpleNamespace(
                id=marks["id"], username=marks["username"], full_name=marks["full_name"]
            )
        text = app.jinja_env.get_template(template_name).render(
            locale=locale,
            site_name=site_name(),
            language_codes=_LANGUAGE_CODES,
            me=me,
            menu=menu,
            current=current,
            csrf=marks["csrf"],
            user_key=marks["user_key"],
            next=marks["next"],
            slot=Markup(_SLOT),  # noqa: S704 - our marker
        )
        parts = text.split(_SLOT)
        if len(parts) != _PARTS:
            raise RuntimeError(f"{template_name} must have {_PARTS - 1} slots")
        # Each part cut at its markers (text, name, text, ..., text): filled in one pass.
        return tuple(tuple(_MARKS.split(part)) for part in parts)

    def page_layout() -> tuple[Markup, ...]:
        user = current_user._get_current_object()  # once, not through the proxy each time
        signed_in = bool(user.is_authenticated)
        menu = _menu(user) if signed_in else ()
        key = (locale_code(), signed_in, menu, _current(), request.root_path, site_name())
        if not standalone or app.debug or app.jinja_env.auto_reload:
            parts = render(*key[:4])
        else:
            parts = kept.get(key)
            if parts is None:
                parts = render(*key[:4])
                if len(kept) >= KEPT:
                    kept.clear()
                kept[key] = parts
        values = {
            "csrf": app.jinja_env.globals["csrf_token"](),
            "next": request.full_path.rstrip("?"),
        }
        if signed_in:
            values |= {
                "id": user.id,
                "username": user.username,
                "full_name": user.full_name,
                "user_key": offline.user_key(),
            }
        values = {name: str(escape(value)) for name, value in values.items()}
        filled = []
        for pieces in parts:
            if len(pieces) > 1:
                pieces = list(pieces)
                pieces[1::2] = [values.get(name, _MARK[name]) for name in pieces[1::2]]
            filled.append(Markup("".join(pieces)))  # noqa: S704 - our template, escaped values
        return tuple(filled)

    app.jinja_env.globals["page_layout"] = page_layout
