"""The API object's state machine (Initialize/Terminate/Commit), mirrored by createAPI in JS."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from scorm.datamodel.engine import Model
from scorm.datamodel.tables import Launch

# The API object's state machine (Initialize/Terminate/Commit), mirrored by createAPI in JS.

_NOT_INITIALIZED, _RUNNING, _TERMINATED = 0, 1, 2


class Api:
    """A SCO's API object over a Runtime, returning strings like the browser API does."""

    NAMES = {
        "1.2": {
            "LMSInitialize": "initialize",
            "LMSFinish": "terminate",
            "LMSGetValue": "get_value",
            "LMSSetValue": "set_value",
            "LMSCommit": "commit",
            "LMSGetLastError": "get_last_error",
            "LMSGetErrorString": "get_error_string",
            "LMSGetDiagnostic": "get_diagnostic",
        },
        "2004": {
            "Initialize": "initialize",
            "Terminate": "terminate",
            "GetValue": "get_value",
            "SetValue": "set_value",
            "Commit": "commit",
            "GetLastError": "get_last_error",
            "GetErrorString": "get_error_string",
            "GetDiagnostic": "get_diagnostic",
        },
    }

    def __init__(
        self,
        model: Model,
        launch: Launch,
        stored: Mapping[str, str] | None = None,
        on_commit: Callable[[dict[str, str], bool], bool] | None = None,
    ) -> None:
        self.model = model
        self.runtime = model.start(launch, stored or {})
        self.on_commit = on_commit
        self.state = _NOT_INITIALIZED
        self.last_error = 0
        self.last_element = ""

    def call(self, method: str, *args: str) -> str:
        """Call an API function by its standard name (LMSInitialize, GetValue, ...)."""
        return getattr(self, self.NAMES[self.model.version][method])(*args)

    def _fail(self, code: int, element: str = "") -> str:
        self.last_error, self.last_element = code, element
        return "false"

    def _ok(self) -> str:
        self.last_error, self.last_element = 0, ""
        return "true"

    def initialize(self, arg: str = "") -> str:
        """Initialize("") / LMSInitialize("")."""
        codes = self.model.codes
        if arg != "":
            return self._fail(codes.argument)
        if self.state == _RUNNING:
            return self._fail(codes.initialize_twice)
        if self.state == _TERMINATED:
            return self._fail(codes.initialize_after)
        self.state = _RUNNING
        return self._ok()

    def _commit(self, terminated: bool) -> bool:
        if self.on_commit is None:
            return True
        return self.on_commit(self.runtime.written(), terminated) is not False

    def terminate(self, arg: str = "") -> str:
        """Terminate("") / LMSFinish(""): a last commit, then the session is over."""
        codes = self.model.codes
        if arg != "":
            return self._fail(codes.argument)
        if self.state == _NOT_INITIALIZED:
            return self._fail(codes.terminate_before)
        if self.state == _TERMINATED:
            return self._fail(codes.terminate_after)
        self.state = _TERMINATED
        if not self._commit(True):
            return self._fail(codes.commit_failed)
        return self._ok()

    def commit(self, arg: str = "") -> str:
        """Commit("") / LMSCommit("")."""
        codes = self.model.codes
        if arg != "":
            return self._fail(codes.argument)
        if self.state == _NOT_INITIALIZED:
            return self._fail(codes.commit_before)
        if self.state == _TERMINATED:
            return self._fail(codes.commit_after)
        if not self._commit(False):
            return self._fail(codes.commit_failed)
        return self._ok()

    def get_value(self, element: str = "") -> str:
        """GetValue(element) / LMSGetValue(element)."""
        codes = self.model.codes
        if self.state == _NOT_INITIALIZED:
            self._fail(codes.get_before, element)
            return ""
        if self.state == _TERMINATED:
            self._fail(codes.get_after, element)
            return ""
        value, code = self.runtime.get(element)
        self.last_error, self.last_element = code, element if code else ""
        return value

    def set_value(self, element: str = "", value: str = "") -> str:
        """SetValue(element, value) / LMSSetValue(element, value)."""
        codes = self.model.codes
        if self.state == _NOT_INITIALIZED:
            return self._fail(codes.set_before, element)
        if self.state == _TERMINATED:
            return self._fail(codes.set_after, element)
        code = self.runtime.set(element, value)
        if code:
            return self._fail(code, element)
        return self._ok()

    def get_last_error(self) -> str:
        """GetLastError(): the last error code as a string."""
        return str(self.last_error)

    def get_error_string(self, code: str = "") -> str:
        """GetErrorString(code): the standard's text, '' for an unknown code."""
        return self.model.error_string(code)

    def get_diagnostic(self, code: str = "") -> str:
        """GetDiagnostic(code): the text of `code` ('' = the last error), with the element."""
        if code == "":
            text = self.model.error_string(self.last_error)
            if self.last_error and self.last_element:
                text = f"{text}: {self.last_element}"
            return text[:255]
        return self.model.error_string(code)
