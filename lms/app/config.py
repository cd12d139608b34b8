"""Configuration: defaults, then instance/config.py, then HOCVU_* environment variables.

Every Hocvu setting is named HOCVU_<NAME>, the same in the environment, in instance/config.py
and in the mapping given to create_app(); create_app() translates the few that Flask and its
extensions know under other names (SECRET_KEY, SQLALCHEMY_DATABASE_URI).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULTS: dict[str, Any] = {
    # "production" refuses to start without a secret key; "development" keeps a generated one
    # in the instance folder so that `make run` works on a fresh clone.
    "HOCVU_ENV": "production",
    "HOCVU_SECRET_KEY": None,
    # Default: a SQLite file in the instance folder (filled in by load_config).
    "HOCVU_DATABASE_URL": None,
    "HOCVU_FILES_DIR": None,
    "HOCVU_DEFAULT_LOCALE": "vi",
    "HOCVU_LOCALES": ["vi", "en"],
    "HOCVU_TIMEZONE": "Asia/Ho_Chi_Minh",
    "HOCVU_SITE_NAME": "Hocvu",
    # A course up to this size (bytes) is kept for offline reading as soon as its page is
    # opened (not with the browser's Data Saver on); a larger one when the learner asks.
    "HOCVU_OFFLINE_AUTO_BYTES": 2 * 1024 * 1024,
    # Login throttling, kept in the database so that every worker sees the same counts.
    # Per account: a few attempts, then a pause. Per IP: much higher, because a whole factory
    # or office often shares one address behind NAT.
    "HOCVU_LOGIN_MAX_FAILURES_PER_ACCOUNT": 5,  # from one address
    "HOCVU_LOGIN_MAX_FAILURES_PER_ACCOUNT_ANY_IP": 50,
    "HOCVU_LOGIN_MAX_FAILURES_PER_IP": 100,
    "HOCVU_LOGIN_WINDOW_MINUTES": 15,
    "HOCVU_SESSION_COOKIE_SECURE": None,  # default: True in production
    # A login ends after this many hours without a request, and after HOCVU_SESSION_MAX_HOURS
    # however active it is; logging out ends it on the server at once.
    "HOCVU_SESSION_HOURS": 12,
    "HOCVU_SESSION_MAX_HOURS": 24,
    "HOCVU_PAGE_SIZE": 50,
    # The largest request body read from a visitor who is not logged in: the login form and
    # the language switch send well under 1 KB plus the page's address (a few KB at most).
    "HOCVU_MAX_ANONYMOUS_BODY_BYTES": 64 * 1024,
    # ... and from a logged-in user on a page without a larger limit of its own (uploads and
    # SCORM commits have theirs, see lms/web/limits.py): the largest form, a question of a
    # test bank, is some tens of KB even with every field full of percent-encoded Vietnamese.
    "HOCVU_MAX_FORM_BODY_BYTES": 1024 * 1024,
    # The dashboard's figures are counted in the background; older than this, they are
    # counted again (the page shows the time they were counted).
    "HOCVU_REPORT_MAX_AGE_MINUTES": 10,
    # Number of threads of the embedded job runner.
    "HOCVU_JOB_THREADS": 1,
    # Set to False where the embedded job runner must not start (tests that run jobs inline).
    "HOCVU_JOBS_INLINE": False,
    # The Redis job queue (RQ): when set, jobs go to Redis and `hocvu worker` processes run
    # them; unset, the embedded thread runner above runs them in the web process.
    "HOCVU_REDIS_URL": None,  # e.g. "redis://127.0.0.1:6379/0"
    "HOCVU_JOB_QUEUE": "hocvu",
    # Seconds to wait before each retry of a job that failed for a transient reason (the
    # database or Redis briefly gone); a task's own error is never retried.
    "HOCVU_JOB_RETRY_INTERVALS": [10, 60, 300],
    "HOCVU_JOB_TIMEOUT": 3 * 3600,  # seconds a job may run before its worker stops it
    # A worker renews a lease in Redis while it runs a job; a job whose lease has expired
    # (its worker was killed) is queued again by the other workers, up to this many runs.
    "HOCVU_JOB_LEASE_SECONDS": 30,
    "HOCVU_JOB_MAX_ATTEMPTS": 4,
    # More modules that register tasks with @task (imported by the site and the workers).
    "HOCVU_JOB_MODULES": [],
    "HOCVU_TRUST_PROXY_HOPS": 0,
    # The site's public address, for the links Hocvu prints outside a request: the QR code and
    # address on certificates, the slips of new accounts, reminder emails. An origin only
    # (scheme://host[:port]): a site mounted under a path gives the path to init_app() as its
    # url_prefix. Required in production; elsewhere the address `hocvu run` last served (kept
    # in the instance folder), else DEV_BASE_URL.
    "HOCVU_BASE_URL": None,
    # Mail: reminders go by email only when HOCVU_SMTP_HOST is set (always in-app).
    "HOCVU_SMTP_HOST": None,
    "HOCVU_SMTP_PORT": 25,
    "HOCVU_SMTP_USERNAME": None,
    "HOCVU_SMTP_PASSWORD": None,  # from the environment; never stored in the database
    "HOCVU_SMTP_STARTTLS": False,
    "HOCVU_SMTP_SSL": False,
    "HOCVU_MAIL_FROM": "hocvu@localhost",
    # Certificates: what is printed, and the signing key (a file; its password only from the
    # environment, never the database). Without HOCVU_SIGNING_KEY, `hocvu init` makes a
    # self-signed development key in the instance folder (not in production), and
    # certificates say so.
    # What is printed is set by a site admin on the organisation page (Quản trị > Tổ chức
    # cấp); these settings only stand in for it until it is saved. No issuer is made up: while
    # neither names the organisation, certificates wait.
    "HOCVU_CERT_ORGANISATION": "",
    "HOCVU_CERT_PLACE": "Hà Nội",
    "HOCVU_CERT_SIGNER_TITLE": "Thủ trưởng đơn vị",
    "HOCVU_CERT_SIGNER_NAME": "",
    "HOCVU_CERT_SEAL_IMAGE": None,  # a PNG or JPEG file
    "HOCVU_CERT_SERIAL_PREFIX": "",  # e.g. "QN": numbers read QN-7K3Q-M9PX-T2VD
    "HOCVU_SIGNING_KEY": None,  # PKCS#12 (.p12/.pfx), or a PEM key with HOCVU_SIGNING_CERT
    "HOCVU_SIGNING_CERT": None,
    "HOCVU_SIGNING_KEY_PASSWORD": None,
    "HOCVU_TSA_URL": None,
    # Operations. Logs: "text" (one readable line) or "json" (one object per line), each
    # record with the request id; HOCVU_ACCESS_LOG adds one line per request.
    "HOCVU_LOG_FORMAT": "text",
    "HOCVU_LOG_LEVEL": "INFO",
    "HOCVU_ACCESS_LOG": True,
    # gzip for pages, CSS, JavaScript and JSON (lms.web.compression); a proxy that compresses
    # itself may take it over.
    "HOCVU_COMPRESS": True,
    # /metrics answers loopback clients not coming through a proxy, or this bearer token.
    "HOCVU_METRICS_TOKEN": None,
    # When nginx serves the files (an `internal` location mapped to HOCVU_FILES_DIR), package
    # files are answered with an X-Accel-Redirect to this prefix instead of their bytes.
    "HOCVU_ACCEL_REDIRECT_PREFIX": None,
    # SCORM packages are untrusted code: their files (and the frame that holds the SCORM API
    # for them) are served only from this origin, another host name than the site's, which
    # never gets the site's cookies, e.g. "https://noidung.hoc.example.vn". Required in
    # production; elsewhere DEV_CONTENT_ORIGIN (`hocvu run` moves it next to its port).
    "HOCVU_CONTENT_ORIGIN": None,
    # How long a link to a package's files (launch-scoped, signed) is valid after the launch.
    "HOCVU_CONTENT_LINK_MINUTES": 240,
    # Other origins package files may load from (scripts, styles, fonts, images, frames,
    # media, XHR), e.g. ["https://cdn.jsdelivr.net"]. None by default: packages are
    # self-contained, because learners are on weak connections and the site may run without
    # the Internet; an upload that names another origin is warned about (docs/deployment.md,
    # 'What packages may load').
    "HOCVU_CONTENT_ALLOWED_ORIGINS": [],
}

# Development and tests: the site on 127.0.0.1, packages on "localhost", a different host
# name (cookies are shared between the ports of one host name, not between host names).
DEV_BASE_URL = "http://127.0.0.1:5000"
DEV_CONTENT_ORIGIN = "http://localhost:5001"
# `hocvu run` writes the address it serves here, so that the commands run beside it
# (`hocvu send-reminders`, `issue-certificates`, `import-users`) print links to it.
SERVED_BASE_URL_FILE = "served_base_url"


# A certificate number's prefix: letters A-Z, digits, single dashes inside, at most 12 (the
# setting above and the organisation page). It goes in URLs and file names as it is.
SERIAL_PREFIX_RE = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")
MAX_SERIAL_PREFIX = 12


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _parse_env_value(raw: str) -> Any:
    """Read numbers, booleans and JSON lists from the environment; anything else stays text."""
    lowered = raw.strip().lower()
    if lowered in {"true", "yes", "on"}:
        return True
    if lowered in {"false", "no", "off"}:
        return False
    if lowered in {"", "none", "null"}:
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    if raw.strip().startswith("["):
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw


def _read_instance_config(path: Path) -> dict[str, Any]:
    """Execute instance/config.py and keep its upper-case names."""
    if not path.is_file():
        return {}
    namespace: dict[str, Any] = {"__file__": str(path)}
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    exec(code, namespace)  # noqa: S102 - the operator's own configuration file
    return {k: v for k, v in namespace.items() if k.isupper()}


def load_config(
    instance_path: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Merge defaults, instance/config.py, HOCVU_* variables and overrides, then check them."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    config.update(_read_instance_config(instance_path / "config.py"))
    for key, raw in environ.items():
        if key.startswith("HOCVU_") and not key.startswith("HOCVU_TEST_"):
            config[key] = _parse_env_value(raw)
    if overrides:
        config.update(overrides)

    if config["HOCVU_ENV"] not in {"production", "development", "testing"}:
        raise ConfigError(
            f"HOCVU_ENV is {config['HOCVU_ENV']!r}; use production, development or testing."
        )
    if not config.get("HOCVU_DATABASE_URL"):
        config["HOCVU_DATABASE_URL"] = f"sqlite:///{instance_path / 'hocvu.sqlite3'}"
    if not config.get("HOCVU_SIGNING_KEY"):
        config["HOCVU_SIGNING_KEY"] = str(instance_path / "signing" / "development.p12")
    if not config.get("HOCVU_FILES_DIR"):
        config["HOCVU_FILES_DIR"] = str(instance_path / "files")
    if isinstance(config["HOCVU_SESSION_COOKIE_SECURE"], str):  # "false" in a mapping
        config["HOCVU_SESSION_COOKIE_SECURE"] = _parse_env_value(
            config["HOCVU_SESSION_COOKIE_SECURE"]
        )
    if config["HOCVU_SESSION_COOKIE_SECURE"] is None:
        config["HOCVU_SESSION_COOKIE_SECURE"] = config["HOCVU_ENV"] == "production"
    if not config.get("HOCVU_SECRET_KEY"):
        config["HOCVU_SECRET_KEY"] = _missing_secret_key(config["HOCVU_ENV"], instance_path)
    if config["HOCVU_LOG_FORMAT"] not in {"text", "json"}:
        raise ConfigError(f"HOCVU_LOG_FORMAT is {config['HOCVU_LOG_FORMAT']!r}; use text or json.")
    for name in ("HOCVU_MAX_ANONYMOUS_BODY_BYTES", "HOCVU_MAX_FORM_BODY_BYTES"):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(
                f"{name} is {value!r}; give a number of bytes, for example {DEFAULTS[name]}."
            )
    prefix = str(config.get("HOCVU_CERT_SERIAL_PREFIX") or "").strip().upper()
    if prefix and (len(prefix) > MAX_SERIAL_PREFIX or not SERIAL_PREFIX_RE.match(prefix)):
        raise ConfigError(
            f"HOCVU_CERT_SERIAL_PREFIX is {config['HOCVU_CERT_SERIAL_PREFIX']!r}; use at most "
            f"{MAX_SERIAL_PREFIX} letters A-Z, digits and dashes between them, e.g. QN."
        )
    config["HOCVU_CERT_SERIAL_PREFIX"] = prefix
    if config["HOCVU_DEFAULT_LOCALE"] not in config["HOCVU_LOCALES"]:
        raise ConfigError("HOCVU_DEFAULT_LOCALE must be one of HOCVU_LOCALES.")
    # Whether the operator chose the address: `hocvu run` replaces only one it defaulted.
    config["HOCVU_BASE_URL_GIVEN"] = bool(config.get("HOCVU_BASE_URL"))
    config["HOCVU_BASE_URL"] = _base_url(config, instance_path)
    config["HOCVU_CONTENT_ORIGIN"] = _content_origin(config)
    config["HOCVU_CONTENT_ALLOWED_ORIGINS"] = _allowed_origins(config)
    return config


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host name, port) of an http(s) URL, lower-cased, with the default port."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname.lower(), port


def _as_origin(scheme: str, host: str, port: int) -> str:
    """scheme://host[:port], the port left out when it is the scheme's default."""
    default_port = 443 if scheme == "https" else 80
    netloc = f"[{host}]" if ":" in host else host
    return f"{scheme}://{netloc}" + ("" if port == default_port else f":{port}")


def _base_url(config: dict[str, Any], instance_path: Path) -> str:
    """HOCVU_BASE_URL checked and written as scheme://host[:port]; outside production, the
    address `hocvu run` last served when none is set, else DEV_BASE_URL."""
    raw = config.get("HOCVU_BASE_URL")
    production = config["HOCVU_ENV"] == "production"
    if not raw:
        if production:
            raise ConfigError(
                "HOCVU_BASE_URL is not set. Certificates (their QR code and verification "
                "address), the slips of new accounts and reminder emails carry links to the "
                "site, so Hocvu must know its public address: set HOCVU_BASE_URL to it, e.g. "
                "HOCVU_BASE_URL=https://hoc.example.vn (scheme and host name, no path; see "
                "docs/deployment.md)."
            )
        return served_base_url(instance_path) or DEV_BASE_URL
    try:
        scheme, host, port = origin_of(str(raw))
        parts = urlsplit(str(raw).strip())
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError(raw)
    except ValueError:
        raise ConfigError(
            f"HOCVU_BASE_URL is {raw!r}; write the site's public address as scheme and host "
            "name only, e.g. https://hoc.example.vn (no path: a Hocvu mounted under a path "
            "gets it as init_app's url_prefix)."
        ) from None
    if production and scheme != "https" and config["HOCVU_SESSION_COOKIE_SECURE"]:
        raise ConfigError(
            f"HOCVU_BASE_URL is {raw!r}, but the login cookie is sent over HTTPS only "
            "(HOCVU_SESSION_COOKIE_SECURE): links to an http address would lead to a site where "
            "nobody can log in. Write the https address, e.g. https://hoc.example.vn."
        )
    return _as_origin(scheme, host, port)


# scheme://host[:port][/]: nothing else may reach the policy header it goes into.
_ORIGIN_RE = re.compile(
    r"^https?://(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?/?$"
)


def _allowed_origins(config: dict[str, Any]) -> list[str]:
    """HOCVU_CONTENT_ALLOWED_ORIGINS as a list of scheme://host[:port] (a JSON list, or
    origins separated by spaces or commas), each checked: they go into a policy header."""
    raw = config.get("HOCVU_CONTENT_ALLOWED_ORIGINS") or []
    values = re.split(r"[\s,]+", raw.strip()) if isinstance(raw, str) else list(raw)
    origins = []
    for value in values:
        if not value:
            continue
        try:
            if not _ORIGIN_RE.match(str(value)):
                raise ValueError(value)
            scheme, host, port = origin_of(str(value))
        except ValueError:
            raise ConfigError(
                f"HOCVU_CONTENT_ALLOWED_ORIGINS has {value!r}; list origins only, e.g. "
                '["https://cdn.jsdelivr.net", "https://fonts.gstatic.com"] (scheme and host '
                "name, no path, no wildcard)."
            ) from None
        origin = _as_origin(scheme, host, port)
        if origin not in origins:
            origins.append(origin)
    return origins


def served_base_url(instance_path: Path) -> str | None:
    """The address `hocvu run` last served from this instance folder, if it has run."""
    try:
        recorded = (instance_path / SERVED_BASE_URL_FILE).read_text(encoding="ascii").strip()
        scheme, host, port = origin_of(recorded)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return _as_origin(scheme, host, port)


def record_served_base_url(instance_path: Path, url: str) -> None:
    """Note the address `hocvu run` serves, for the commands run beside it."""
    instance_path.mkdir(parents=True, exist_ok=True)
    (instance_path / SERVED_BASE_URL_FILE).write_text(url + "\n", encoding="ascii")


def _content_origin(config: dict[str, Any]) -> str:
    """HOCVU_CONTENT_ORIGIN checked and written as scheme://host[:port]."""
    raw = config.get("HOCVU_CONTENT_ORIGIN")
    production = config["HOCVU_ENV"] == "production"
    if not raw:
        if production:
            raise ConfigError(
                "HOCVU_CONTENT_ORIGIN is not set. SCORM packages run their own scripts, so "
                "Hocvu serves them from a second host name that never receives the site's "
                "cookies, e.g. HOCVU_CONTENT_ORIGIN=https://noidung.hoc.example.vn (a DNS name "
                "for the same server, on the same certificate or its own; see "
                "docs/deployment.md, 'Content origin')."
            )
        raw = DEV_CONTENT_ORIGIN
    try:
        scheme, host, port = origin_of(raw)
        parts = urlsplit(raw.strip())
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError(raw)
    except ValueError:
        raise ConfigError(
            f"HOCVU_CONTENT_ORIGIN is {raw!r}; write it as an origin only, e.g. "
            "https://noidung.hoc.example.vn (no path)."
        ) from None
    if production and scheme != "https" and config["HOCVU_SESSION_COOKIE_SECURE"]:
        raise ConfigError(
            f"HOCVU_CONTENT_ORIGIN is {raw!r}: the site runs on HTTPS, so packages must too "
            "(a browser blocks an http frame in an https page)."
        )
    try:
        _, site_host, _ = origin_of(config["HOCVU_BASE_URL"])
    except ValueError:
        site_host = None
    if host == site_host:
        raise ConfigError(
            f"HOCVU_CONTENT_ORIGIN ({raw}) has the same host name as HOCVU_BASE_URL: browsers "
            "send a host's cookies to all its ports, so packages would get the site's login "
            "cookie. Use another host name, e.g. noidung.<your site's name>."
        )
    return _as_origin(scheme, host, port)


def _missing_secret_key(env: str, instance_path: Path) -> str:
    """Refuse to run in production without a key; in development keep one in the instance folder."""
    if env == "production":
        raise ConfigError(
            "HOCVU_SECRET_KEY is not set. Hocvu signs session cookies with it, so it must be "
            "a long random value that stays the same across restarts and workers. Set the "
            "environment variable HOCVU_SECRET_KEY, or HOCVU_SECRET_KEY in "
            f"{instance_path / 'config.py'}; for a local trial set HOCVU_ENV=development."
        )
    key_file = instance_path / "secret_key"
    if key_file.is_file():
        return key_file.read_text(encoding="ascii").strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it a moment ago
        return key_file.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


def default_instance_path() -> Path:
    """The instance folder: HOCVU_INSTANCE_PATH, or ./instance of the working directory."""
    return Path(os.environ.get("HOCVU_INSTANCE_PATH") or Path.cwd() / "instance").resolve()
