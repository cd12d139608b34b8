"""Locale, time zone and the formatting of dates and numbers, Vietnamese by default."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal as babel_format_decimal
from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import Babel, get_locale, get_translations, gettext
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

# Babel's own long Vietnamese date ("23 tháng 11, 2026") is not how documents are dated in
# Vietnam; administrative texts write "ngày 23 tháng 11 năm 2026".
_DATE_PATTERNS = {"vi": "'ngày' d 'tháng' M 'năm' y", "en": "d MMMM y"}
_SHORT_DATE_PATTERNS = {"vi": "dd/MM/y", "en": "d MMM y"}


def select_locale() -> Locale:
    """The account's language, else the one chosen this session, else the site default."""
    return _locale(_locale_choice())


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    # flask_babel parses what the selector gives unless it is a Locale already: parsed once.
    return Locale.parse(code)


def _locale_choice() -> str:
    allowed = current_app.config["HOCVU_LOCALES"]
    try:
        user = current_user._get_current_object()
        if user and user.is_authenticated and user.locale in allowed:
            return user.locale
    except SQLAlchemyError:  # an error page after a failed flush still needs a language
        pass
    chosen = session.get("locale")
    if chosen in allowed:
        return chosen
    return current_app.config["HOCVU_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Hocvu shows every time in the site's time zone (Asia/Ho_Chi_Minh)."""
    return current_app.config["HOCVU_TIMEZONE"]


def locale_code() -> str:
    locale = get_locale()
    return locale.language if locale else "vi"


def format_date(value: date | datetime | None, style: str = "long") -> str:
    """'ngày 23 tháng 11 năm 2026' (long) or '23/11/2026' (short), in the site's zone."""
    if value is None:
        return ""
    lang = locale_code()
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(current_app.config["HOCVU_TIMEZONE"])).date()
    patterns = _DATE_PATTERNS if style == "long" else _SHORT_DATE_PATTERNS
    return _date_text(value, patterns.get(lang, "medium"), lang)


@lru_cache(maxsize=4096)
def _date_text(day: date, pattern: str, lang: str) -> str:
    # Kept per day, pattern and language: Babel's formatting cost about 8 us, and the pages
    # show the same few days (deadlines, issue dates) again and again.
    return babel_format_date(day, pattern, locale=lang)


def format_datetime(value: datetime | None) -> str:
    """'14:05, 23/11/2026' in the site's time zone."""
    if value is None:
        return ""
    lang = locale_code()
    zone = ZoneInfo(current_app.config["HOCVU_TIMEZONE"])
    pattern = "HH:mm, dd/MM/y" if lang == "vi" else "d MMM y, HH:mm"
    return babel_format_datetime(value, pattern, tzinfo=zone, locale=lang)


def format_time(value: datetime | None) -> str:
    """'14:05' in the site's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(current_app.config["HOCVU_TIMEZONE"])).strftime("%H:%M")


def format_number(value: float | int | None, digits: int = 1) -> str:
    """'8,5' in Vietnamese, '8.5' in English; integers without decimals; '36.000' grouped."""
    if value is None:
        return ""
    pattern = "#,##0" if float(value).is_integer() else "#,##0." + "#" * digits
    return babel_format_decimal(value, format=pattern, locale=locale_code())


def format_duration(seconds: float | None) -> str:
    """Time spent, in minutes ('12 phút'), or hours and minutes ('1 giờ 5 phút')."""
    from flask_babel import gettext

    if seconds is None:
        return ""
    minutes = int(round(seconds / 60))
    if 0 < seconds < 30:
        return gettext("under a minute")
    if minutes < 60:
        return gettext("%(minutes)s min", minutes=minutes)
    return gettext("%(hours)s h %(minutes)s min", hours=minutes // 60, minutes=minutes % 60)


def request_translations():
    """The current locale's catalog, looked up once per request (and again when the locale
    changes, as under flask_babel's force_locale).

    flask_babel's own lookup walks its request context, domain and locale on every call (about
    9 µs), and Jinja's i18n wrapper around it two more context calls: the 40-odd texts of a
    page cost more than the rest of its template.
    """
    # Kept beside flask_babel's own per-request values (its locale and translations).
    babel_context = g.get("_flask_babel")
    cached = getattr(babel_context, "hocvu_translations", None)
    if cached is None or cached[0] is not getattr(babel_context, "babel_locale", None):
        translations = get_translations()  # makes g._flask_babel and its locale
        babel_context = g._flask_babel
        cached = (babel_context.babel_locale, translations)
        babel_context.hocvu_translations = cached
    return cached[1]


# The templates' _(), gettext() and ngettext(): what Jinja's "newstyle" i18n callables do
# (jinja2.ext._make_new_gettext: a format string even without variables, escaped when the
# template autoescapes, `num` given to ngettext's text), in one call.
@pass_eval_context
def _template_gettext(eval_context, string: str, /, **variables) -> str:
    text = request_translations().ugettext(string)
    if eval_context.autoescape:
        text = Markup(text)  # noqa: S704 - our own catalog, as Jinja's i18n does
    return text % variables


@pass_eval_context
def _template_ngettext(eval_context, singular: str, plural: str, num: int, /, **variables) -> str:
    variables.setdefault("num", num)
    text = request_translations().ungettext(singular, plural, num)
    if eval_context.autoescape:
        text = Markup(text)  # noqa: S704 - our own catalog, as Jinja's i18n does
    return text % variables


def _bound_to(translations) -> dict:
    """The templates' _(), gettext() and ngettext() bound to one catalog, for one render.

    The layout and a page call _() 20 to 40 times: each call of the globals above finds the
    request's catalog again (two context lookups), and builds the same Markup. These find it
    once per render, and keep each text without variables as Markup in the catalog (a
    catalog is made once per process and locale by flask_babel)."""
    kept: dict[str, Markup] = translations.__dict__.setdefault("_hocvu_markup", {})
    ugettext, ungettext = translations.ugettext, translations.ungettext

    @pass_eval_context
    def bound_gettext(eval_context, string: str, /, **variables) -> str:
        if not eval_context.autoescape:
            return ugettext(string) % variables
        if variables:
            return Markup(ugettext(string)) % variables  # noqa: S704 - our own catalog
        found = kept.get(string)
        if found is None:
            found = kept[string] = Markup(ugettext(string)) % variables  # noqa: S704
        return found

    @pass_eval_context
    def bound_ngettext(eval_context, singular: str, plural: str, num: int, /, **variables):
        variables.setdefault("num", num)
        text = ungettext(singular, plural, num)
        if eval_context.autoescape:
            text = Markup(text)  # noqa: S704 - our own catalog, as Jinja's i18n does
        return text % variables

    return {"_": bound_gettext, "gettext": bound_gettext, "ngettext": bound_ngettext}


def init_i18n(app: Flask, babel: Babel) -> None:
    """Wire Flask-Babel to Hocvu's catalogs and selectors, and add the Jinja filters."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["HOCVU_DEFAULT_LOCALE"])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["HOCVU_TIMEZONE"])
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(Path(__file__).parents[1] / "translations"),
    )
    app.jinja_env.globals.update(
        _=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext
    )

    @app.context_processor
    def bound_translations() -> dict:
        # Templates rendered with this context (pages, their layout, macros imported with
        # context) use these; macros imported without it use the globals, which give the
        # same texts.
        return _bound_to(request_translations()) if has_request_context() else {}

    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["time"] = format_time
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["duration"] = format_duration
    app.jinja_env.globals["current_locale"] = locale_code
    app.jinja_env.globals["request_path"] = lambda: request.full_path.rstrip("?")


def message_text(message: str, params: dict) -> str:
    """A stored message (English msgid + params) in the current language: a `date` in ISO
    form as a date, and byte counts (params named `*_bytes`) as sizes (`format_sizes`)."""
    shown = dict(params)
    if isinstance(shown.get("date"), str):
        shown["date"] = format_date(date.fromisoformat(shown["date"]))
    sizes = {k: v for k, v in shown.items() if k.endswith("_bytes") and isinstance(v, int)}
    shown.update(format_sizes(sizes))
    return gettext(message, **shown)


def format_sizes(sizes: dict[str, int]) -> dict[str, str]:
    """Byte counts shown together ("120,4 MB" and "100 MB"): in MB with one decimal at most,
    more decimals when fewer would show two different sizes the same or in the wrong order
    ("100,04 MB" against "100 MB"), and in bytes when even three do not tell them apart."""
    unit, name = (1024 * 1024, "MB")
    if sizes and max(sizes.values()) < unit:
        unit, name = (1024, "KB")
    ordered = sorted(set(sizes.values()))
    for digits in (1, 2, 3):
        shown = {n: round(n / unit, digits) for n in ordered}
        if len(set(shown.values())) == len(ordered):  # rounding keeps the order, not ties
            return {k: f"{format_number(shown[v], digits)} {name}" for k, v in sizes.items()}
    unit_name = gettext("bytes")
    return {k: f"{format_number(v)} {unit_name}" for k, v in sizes.items()}
