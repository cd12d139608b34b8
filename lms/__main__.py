"""The `hocvu` program (and `python -m lms`): Flask's command group with Hocvu's app, its
commands (lms/cli/) and a `run` that serves both origins."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, NoAppException, ScriptInfo

from lms import ConfigError, create_app


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, help="Port of the site.")
@click.option(
    "--content-port",
    type=int,
    help="Port of the content origin (SCORM packages); default: the site's port + 1, unless "
    "HOCVU_CONTENT_ORIGIN names one.",
)
@click.pass_context
def run_command(ctx: click.Context, host: str, port: int, content_port: int | None) -> None:
    """Serve the site and its content origin with the development server (not for production:
    use gunicorn, docs/deployment.md)."""
    import threading
    from urllib.parse import urlsplit

    from werkzeug.serving import make_server

    from lms.app.config import DEV_CONTENT_ORIGIN, record_served_base_url

    app = ctx.find_object(ScriptInfo).load_app()
    config = app.config
    # "localhost" is the content origin's host name: the site is shown on 127.0.0.1, which
    # a server bound to localhost answers too (and sends a visitor of localhost:<port> there).
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host  # noqa: S104
    if not config["HOCVU_BASE_URL_GIVEN"]:
        # Links on certificates, slips and reminders lead to where this server really is,
        # also when another command (send-reminders, issue-certificates) prints them.
        netloc = f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"  # IPv6 in brackets
        config["HOCVU_BASE_URL"] = f"http://{netloc}"
    if config["HOCVU_CONTENT_ORIGIN"] == DEV_CONTENT_ORIGIN:
        # Packages on "localhost", the site on 127.0.0.1: two host names, so that packages
        # never get the site's cookies (cookies are shared across the ports of one name).
        content_port = content_port or port + 1
        config["HOCVU_CONTENT_ORIGIN"] = f"http://localhost:{content_port}"
    else:
        parts = urlsplit(config["HOCVU_CONTENT_ORIGIN"])
        content_port = content_port or parts.port or (443 if parts.scheme == "https" else 80)
    servers = [
        make_server(host, port, app, threaded=True),
        make_server(host, content_port, app, threaded=True),
    ]
    if not config["HOCVU_BASE_URL_GIVEN"]:  # now that the ports are this server's
        record_served_base_url(Path(app.instance_path), config["HOCVU_BASE_URL"])
    click.echo(f" * Hocvu: {config['HOCVU_BASE_URL']}")
    click.echo(f" * SCORM packages (content origin): {config['HOCVU_CONTENT_ORIGIN']}")
    click.echo(" * Development server: do not use it in production (docs/deployment.md).")
    content = threading.Thread(target=servers[1].serve_forever, daemon=True)
    content.start()
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.server_close()


def _create_app() -> Flask:
    try:
        return create_app()
    except ConfigError as error:
        if len(sys.argv) < 2 or {"--help", "-h"} & set(sys.argv[1:]):
            # Flask's CLI prints this as an error line, then the help.
            raise NoAppException(str(error)) from None
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Hocvu: the learning management system's command line."""


# Flask's own `run` serves one address; Hocvu needs two (the site and its content origin).
main.add_command(run_command)


if __name__ == "__main__":
    main()
