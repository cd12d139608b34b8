"""`hocvu worker`: runs background jobs from the Redis queue."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--name", help="The worker's name in Redis (default: a random one).")
@with_appcontext
def worker_command(burst: bool, name: str | None) -> None:
    """Run background jobs from the Redis queue (needs HOCVU_REDIS_URL); run one per core."""
    app = current_app._get_current_object()
    if not app.config["HOCVU_REDIS_URL"]:
        raise click.ClickException(
            "HOCVU_REDIS_URL is not set: without Redis, jobs run inside the web process "
            "and no worker is needed."
        )
    from lms.jobs import queue

    click.echo(f"Worker on the job queue {app.config['HOCVU_JOB_QUEUE']!r}.")
    try:
        queue.work(app, burst=burst, name=name)
    except queue.WorkerNameTaken as error:
        raise click.ClickException(str(error)) from None
