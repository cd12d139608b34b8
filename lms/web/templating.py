"""The Jinja environment's set-up for Hocvu's templates: their globals read at C speed, and
parts of pages that are the same for every learner kept per process.

Jinja 3.1 gives each template its globals as a ChainMap (the template's own ones, then the
environment's) and reads it whole on every render (a page's context starts as a copy of it)
and on every `{% from ... import ... %}` (it compares the page's globals with the imported
template's). A ChainMap is read key by key in Python: with Hocvu's thirty-odd globals each
of those cost 15-20 us, a tenth of a millisecond on the course page with its three imports
(bench/learner_pages.py, issue 24). A template without globals of its own (every one Flask
loads: it never passes any) here gets the environment's dict itself, which C reads at once;
being the same dict, a global added later is seen as with the ChainMap. A template made with
globals of its own (`from_string(source, globals)`) gets Jinja's ChainMap as before.

kept_macro() writes a macro's part of a page that depends only on the macro's arguments,
the language and the site's URLs (the course page's offline download: eight texts, two URLs)
once per process for each, and keeps it; it is written each time in debug mode or when
templates reload (an edited template shows at once).

Only a standalone site's environment is changed, and only it keeps parts: a host application
that mounts Hocvu owns its environment (and its URL defaults may depend on the request).
"""

from __future__ import annotations

import types
from collections.abc import MutableMapping
from typing import Any

from flask import Flask, request
from jinja2 import Environment
from markupsafe import Markup

from lms.app.i18n import locale_code
from lms.app.kept import Kept

# Enough for every course's offline section in two languages (when full, the oldest
# quarter is forgotten).
KEPT = 1024


def _make_globals(
    self: Environment, d: MutableMapping[str, Any] | None
) -> MutableMapping[str, Any]:
    if not d:
        return self.globals
    return type(self).make_globals(self, d)


def init_templating(app: Flask, standalone: bool) -> None:
    """Give the templates the environment's globals without a ChainMap (standalone only),
    and kept_macro()."""
    env = app.jinja_env
    if standalone:
        env.make_globals = types.MethodType(_make_globals, env)  # type: ignore[method-assign]
    kept: Kept[tuple, Markup] = Kept(KEPT)

    def kept_macro(template: str, name: str, *args: Any) -> Markup:
        """The macro `name` of `template` (imported without context) called with `args`,
        which must be all it reads besides the language and the site's URLs."""
        if not standalone or app.debug or env.auto_reload:
            return getattr(env.get_template(template).module, name)(*args)
        key = (template, name, args, locale_code(), request.root_path)
        found = kept.get(key)
        if found is None:
            found = kept.keep(key, getattr(env.get_template(template).module, name)(*args))
        return found

    env.globals["kept_macro"] = kept_macro
