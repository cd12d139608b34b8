"""The Jinja environment's set-up for Hocvu's templates: their globals read at C speed.

Jinja 3.1 gives each template its globals as a ChainMap (the template's own ones, then the
environment's) and reads it whole on every render (a page's context starts as a copy of it)
and on every `{% from ... import ... %}` (it compares the page's globals with the imported
template's). A ChainMap is read key by key in Python: with Hocvu's thirty-odd globals each
of those cost 15-20 us, a tenth of a millisecond on the course page with its three imports
(bench/learner_pages.py, issue 24). A template without globals of its own (every one Flask
loads: it never passes any) here gets the environment's dict itself, which C reads at once;
being the same dict, a global added later is seen as with the ChainMap. A template made with
globals of its own (`from_string(source, globals)`) gets Jinja's ChainMap as before.

Only a standalone site's environment is changed: a host application that mounts Hocvu owns
its environment.
"""

from __future__ import annotations

import types
from collections.abc import MutableMapping
from typing import Any

from flask import Flask
from jinja2 import Environment


def _make_globals(
    self: Environment, d: MutableMapping[str, Any] | None
) -> MutableMapping[str, Any]:
    if not d:
        return self.globals
    return type(self).make_globals(self, d)


def init_templating(app: Flask, standalone: bool) -> None:
    """Give the templates the environment's globals without a ChainMap (standalone only)."""
    if standalone:
        env = app.jinja_env
        env.make_globals = types.MethodType(_make_globals, env)  # type: ignore[method-assign]
