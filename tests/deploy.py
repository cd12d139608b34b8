"""deploy/nginx-hocvu.conf made runnable on loopback, for tests/lms/test_nginx.py and
bench/load_test.py: the same file operators install, with only what cannot be the same here
changed (plain HTTP on a free port instead of TLS, this checkout's folders and upstream)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx-hocvu.conf"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
)


def _replace(pattern: str, replacement: str, text: str) -> str:
    changed, count = re.subn(pattern, replacement, text)
    if count == 0:
        raise AssertionError(f"{SITE.name} no longer has {pattern!r}: update tests/deploy.py")
    return changed


def nginx_config(
    folder: Path,
    *,
    port: int,
    upstream_port: int,
    files_dir: Path,
    static_dir: Path,
    worker_processes: str = "1",
    worker_connections: int = 1024,
) -> Path:
    """Write nginx.conf (and the site it includes) into `folder`; return its path."""
    site = SITE.read_text(encoding="utf-8")
    site = _replace(r"listen 443 ssl[^;]*;", f"listen 127.0.0.1:{port};", site)
    # The site at 127.0.0.1, the content origin at localhost: two host names on one port,
    # told apart by their Host header as the real names are.
    site = _replace(r"server_name hoc\.example\.vn;", "server_name 127.0.0.1;", site)
    site = _replace(r"server_name noidung\.hoc\.example\.vn;", "server_name localhost;", site)
    site = _replace(r"\n *ssl_certificate[^\n]*", "", site)
    site = site[: site.rindex("server {")]  # the port-80 redirect to HTTPS
    site = _replace(r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream_port};", site)
    site = _replace(r"alias /srv/hocvu/files/;", f"alias {files_dir}/;", site)
    site = _replace(r"alias /srv/hocvu/app/lms/static/;", f"alias {static_dir}/;", site)
    (folder / "hocvu-site.conf").write_text(site, encoding="utf-8")
    shutil.copy("/etc/nginx/mime.types", folder / "mime.types")
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / f"nginx-{name}").mkdir(exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""
{user}
worker_processes {worker_processes};
worker_rlimit_nofile {worker_connections * 2};
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
    include mime.types;
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65s;
    access_log off;
    client_body_temp_path {folder}/nginx-body;
    proxy_temp_path {folder}/nginx-proxy;
    fastcgi_temp_path {folder}/nginx-fastcgi;
    uwsgi_temp_path {folder}/nginx-uwsgi;
    scgi_temp_path {folder}/nginx-scgi;
    include hocvu-site.conf;
}}
""",
        encoding="utf-8",
    )
    return conf


def start_nginx(conf: Path, port: int) -> subprocess.Popen:
    """nginx in the foreground with `conf`, once it accepts connections on `port`."""
    import socket

    log = open(conf.parent / "nginx.log", "w")  # noqa: SIM115 - the process's stderr
    process = subprocess.Popen(
        [
            NGINX or "nginx",
            "-p",
            str(conf.parent),
            "-e",
            str(conf.parent / "nginx-error.log"),
            "-c",
            str(conf),
            "-g",
            "daemon off;",
        ],
        stderr=log,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"nginx stopped: {(conf.parent / 'nginx.log').read_text()}"
                f"{(conf.parent / 'nginx-error.log').read_text()}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("nginx did not start")
