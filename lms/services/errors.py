"""Domain errors raised by services and translated to messages by the web layer and CLI."""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a message for translation; the web layer translates it when it is shown."""
    return message


class DomainError(Exception):
    """A rule was broken. `message` is an English msgid with %(name)s placeholders."""

    def __init__(self, message: str, *, field: str | None = None, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.field = field
        self.params = params


class NotFound(DomainError):
    """The record does not exist, or is outside what the actor may see."""


class Forbidden(DomainError):
    """The actor may not do this."""
