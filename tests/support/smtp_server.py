"""A real SMTP server process for tests: stores each message it receives as a file.

Usage: python -m tests.support.smtp_server HOST PORT OUT_DIR
"""

from __future__ import annotations

import signal
import sys
import threading
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class SaveToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        name = self.folder / f"{uuid.uuid4().hex}.eml"
        name.write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted"


def main() -> None:
    host, port, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    controller = Controller(SaveToFolder(out), hostname=host, port=port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
