"""Parts of the learner pages written in Python in one pass, not by a loop of their template.

A Jinja loop cost about 10 us an item (each `{{ }}` an escape, each call of `_()` or `url_for`
a trip through the template runtime): the course page's ten lessons, a lesson's self-check
questions with their options (bench/learner_pages.py, issue 24). Each function writes exactly
what the loop it replaced wrote, whitespace included (tests/lms/test_courses.py renders both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app
from markupsafe import Markup, escape

from lms.app.i18n import request_translations
from lms.app.kept import Kept
from lms.services.errors import N_

_MINUTES = N_("%(minutes)s min")
_CHOOSE_EVERY = N_("choose every correct answer")
_CORRECT = N_("Correct.")
_NOT_QUITE = N_("Not quite.")


def lesson_items(steps, slug: str, labels: Mapping[str, Markup]) -> Markup:
    """The course page's lessons, each a link with its status (`labels`, by status) and
    minutes. What does not depend on the learner (links, titles, minutes) is kept per process
    for each course's steps, language and links: a page then writes only the statuses."""
    build = current_app.jinja_env.globals["url_for"]  # the templates' own, kept per process
    translations = request_translations()
    activities = tuple(step.activity for step in steps)
    first = build("learn.activity", slug=slug, key=activities[0].key) if activities else ""
    key = (slug, activities, translations, first)
    parts = _LESSON_PARTS.get(key)
    if parts is None:
        # Our catalog's text, as the template's _() writes it (a number needs no escaping).
        minutes = translations.ugettext(_MINUTES)
        parts = tuple(
            (
                f'">\n    <a href="{escape(build("learn.activity", slug=slug, key=a.key))}">'
                f'{escape(a.title)}</a>\n    <span class="meta">',
                f" · {minutes % {'minutes': int(a.minutes)}}</span>\n  </li>\n  ",
            )
            for a in activities
        )
        _LESSON_PARTS.keep(key, parts)
    items = []
    for step, (link, rest) in zip(steps, parts, strict=True):
        status = step.status
        items.append(f'\n  <li class="lesson {escape(status)}{link}{labels[status]}{rest}')
    return Markup("".join(items))  # noqa: S704 - every value escaped


# The learner-independent parts of each course's lessons' lines, by the course's slug, its
# steps' activities, the language's catalog and the first lesson's link (lesson_items).
_LESSON_PARTS: Kept[tuple, tuple[tuple[str, str], ...]] = Kept(256)


def self_check_fields(questions: Sequence[Mapping[str, Any]], answers: Mapping) -> Markup:
    """A lesson's self-check questions with their options, the learner's `answers` (lists of
    the options chosen, by the question's position as text) checked and, once answered, the
    feedback."""
    text = request_translations().ugettext
    choose_every, correct, not_quite = text(_CHOOSE_EVERY), text(_CORRECT), text(_NOT_QUITE)
    out = []
    for qi, q in enumerate(questions):
        given = answers.get(str(qi))
        right = q.get("correct") or ()
        multiple = len(right) > 1
        kind = "checkbox" if multiple else "radio"
        out.append(
            '\n    \n    \n    \n    <fieldset class="question">\n'
            f"      <legend>{qi + 1}. {escape(q.get('text', ''))}"
        )
        if multiple:
            out.append(f' <span class="muted small">({choose_every})</span>')
        out.append("</legend>\n      ")
        for index, option in enumerate(q.get("options") or ()):
            checked = "checked" if given and index in given else ""
            out.append(
                '\n      <label class="option">\n'
                f'        <input type="{kind}" name="q{qi}" value="{index}" {checked}>\n'
                f"        <span>{escape(option)}</span>\n      </label>\n      "
            )
        out.append("\n      ")
        if given:
            explanation = escape(q.get("explanation", ""))
            if sorted(given) == sorted(right):
                feedback = f'<p class="feedback right">{correct} {explanation}</p>'
            else:
                feedback = f'<p class="feedback wrong">{not_quite} {explanation}</p>'
            out.append(f"\n      \n      {feedback}\n      \n      ")
        out.append("\n    </fieldset>\n    ")
    return Markup("".join(out))  # noqa: S704 - every value escaped, the texts our catalog's
