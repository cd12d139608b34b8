"""Backups: the database and HOCVU_FILES_DIR in one tar file with a manifest, and back.

A backup is a tar (gzip-compressed when its name ends in .tar.gz or .tgz) whose first member
is manifest.json (format, Hocvu version, Alembic revision, time, SHA-256 of every other
member), then the database (SQLite: a copy made with SQLite's online backup API;
PostgreSQL: `pg_dump --format=custom`), then the files under files/.

Consistency: the database is copied first, as one snapshot, and the files after it. Files are
written before the rows that name them are committed, and never changed in place (packages
and course versions are stored by content or version, certificates once), so every file the
copied database names is in the backup; files added during the backup are extra, unused.

Restoring checks the manifest before changing anything: a backup of a newer schema than this
Hocvu knows is refused, so is a database holding data unless `force`. Every member is
extracted to a staging place and checked against its checksum first; then the database is
replaced (SQLite: the online backup API into the configured file; PostgreSQL:
`pg_restore --clean --if-exists --single-transaction`) and the files folder's content
swapped. The caller upgrades the schema afterwards when the backup's is older.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import URL, Engine, make_url

FORMAT = 1
MANIFEST = "manifest.json"
FILES = "files"
DATABASE_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# Left-overs of interrupted writes (lms/app/storage.py) and restores are not data.
_SKIPPED_PREFIXES = (".incoming-", ".restore-", ".before-restore-")
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds."""

    data: dict[str, Any]

    @property
    def revision(self) -> str | None:
        return self.data.get("alembic_revision")

    @property
    def dialect(self) -> str:
        return self.data["database"]["dialect"]

    @property
    def checksums(self) -> dict[str, str]:
        return self.data["checksums"]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _dialect(url: URL) -> str:
    name = url.get_backend_name()
    if name not in DATABASE_MEMBERS:
        raise BackupError(f"backups support SQLite and PostgreSQL databases, not {name}")
    return name


def _pg_env(url: URL) -> dict[str, str]:
    """libpq's variables for `url`, so that no password appears on a command line."""
    env = dict(os.environ)
    values = {
        "PGHOST": url.host or url.query.get("host"),
        "PGPORT": str(url.port) if url.port else url.query.get("port"),
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
        "PGSSLMODE": url.query.get("sslmode"),
    }
    env.update({k: str(v) for k, v in values.items() if v})
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(f"{command[0]} is not installed (it comes with the PostgreSQL client)")
    done = subprocess.run([tool, *command[1:]], env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _dump_database(url: URL, out: Path) -> None:
    if _dialect(url) == "sqlite":
        source = sqlite3.connect(f"file:{_sqlite_path(url)}?mode=ro", uri=True)
        target = sqlite3.connect(out)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        _run(
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={out}"],
            _pg_env(url),
        )


def _files(files_dir: Path) -> Iterator[tuple[Path, str]]:
    """(path, member name) of every regular file under files_dir, in a stable order."""
    if not files_dir.is_dir():
        return
    for path in sorted(files_dir.rglob("*")):
        relative = path.relative_to(files_dir)
        if any(part.startswith(_SKIPPED_PREFIXES) for part in relative.parts):
            continue
        if path.is_symlink() or not path.is_file():
            continue
        yield path, f"{FILES}/{relative.as_posix()}"


class _HashingReader:
    def __init__(self, handle) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.digest.update(chunk)
        return chunk


def create_backup(
    database_url: str, files_dir: Path, dest: Path, *, revision: str | None, version: str
) -> Manifest:
    """Write a backup of the database and the files to `dest` (atomically: a partial file
    is renamed into place at the end)."""
    url = make_url(database_url)
    dialect = _dialect(url)
    compressed = dest.name.endswith((".tar.gz", ".tgz"))
    if not compressed and not dest.name.endswith(".tar"):
        raise BackupError("the backup file's name must end in .tar, .tar.gz or .tgz")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hocvu-backup-", dir=dest.parent) as work:
        dump = Path(work) / DATABASE_MEMBERS[dialect]
        _dump_database(url, dump)
        members: list[tuple[Path, str]] = [(dump, dump.name), *_files(files_dir)]
        checksums = {name: _sha256_file(path) for path, name in members}
        manifest = {
            "format": FORMAT,
            "application": "hocvu",
            "version": version,
            "alembic_revision": revision,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": {"dialect": dialect, "member": dump.name},
            "files": {
                "count": len(members) - 1,
                "bytes": sum(p.stat().st_size for p, _ in members[1:]),
            },
            "checksums": checksums,
        }
        partial = Path(work) / "backup.partial"
        with tarfile.open(partial, "w:gz" if compressed else "w", format=tarfile.PAX_FORMAT) as tar:
            blob = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(blob), int(datetime.now(UTC).timestamp()), 0o600
            tar.addfile(info, io.BytesIO(blob))
            for path, name in members:
                info = tar.gettarinfo(str(path), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with path.open("rb") as handle:
                    reader = _HashingReader(handle)
                    tar.addfile(info, reader)
                if reader.digest.hexdigest() != checksums[name]:
                    raise BackupError(f"{name} changed while it was being backed up; run again")
        os.replace(partial, dest)
    return Manifest(manifest)


def read_manifest(src: Path) -> Manifest:
    """The manifest of a backup (its first member), checked for a format this code reads."""
    try:
        with tarfile.open(src, "r|*") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST:
                raise BackupError(f"{src} is not a Hocvu backup (no {MANIFEST} first)")
            data = json.load(tar.extractfile(first))
    except (tarfile.TarError, OSError, ValueError) as error:
        raise BackupError(f"{src} cannot be read as a Hocvu backup: {error}") from None
    if data.get("application") != "hocvu" or not isinstance(data.get("checksums"), dict):
        raise BackupError(f"{src} is not a Hocvu backup")
    if data.get("format") != FORMAT:
        raise BackupError(
            f"{src} has backup format {data.get('format')}; this Hocvu reads format {FORMAT}"
        )
    return Manifest(data)


def database_has_data(engine: Engine, table_names: list[str]) -> bool:
    """Whether any of Hocvu's tables in the database holds a row."""
    present = set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        for name in table_names:
            if name in present:
                query = select(text("1")).select_from(text(f'"{name}"')).limit(1)
                if connection.execute(query).first() is not None:
                    return True
    return False


def _safe_member(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or not path.parts:
        raise BackupError(f"unsafe name in the backup: {name!r}")
    return path


def restore_backup(
    database_url: str,
    files_dir: Path,
    src: Path,
    *,
    known_revision: Callable[[str | None], bool],
    has_data: Callable[[], bool],
    force: bool,
    before_database: Callable[[], None] = lambda: None,
) -> Manifest:
    """Replace the database and the files with those of the backup `src`.

    `known_revision(rev)` says whether this code's migrations know the backup's schema;
    `has_data()` whether the database holds data (refused unless `force`);
    `before_database()` runs just before the database is replaced (close the app's
    connections there).
    """
    manifest = read_manifest(src)
    url = make_url(database_url)
    dialect = _dialect(url)
    if manifest.dialect != dialect:
        raise BackupError(
            f"the backup is of a {manifest.dialect} database; this Hocvu uses {dialect}"
        )
    if not known_revision(manifest.revision):
        raise BackupError(
            f"the backup's database schema (revision {manifest.revision}) is newer than this "
            "Hocvu knows: restore it with the Hocvu version that made it "
            f"({manifest.data.get('version')}) or a later one"
        )
    if not force and has_data():
        raise BackupError(
            "the database already holds data; restoring would replace it. Use --force to "
            "replace it, or restore into an empty database"
        )
    files_dir.mkdir(parents=True, exist_ok=True)
    # Staged inside the files folder, so that moving files into place never crosses a
    # file system (the folder may be a mount point of shared storage).
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=files_dir))
    try:
        database = _extract(src, manifest, staging)
        before_database()
        _load_database(url, database)
        _swap_files(files_dir, staging / FILES)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _extract(src: Path, manifest: Manifest, staging: Path) -> Path:
    """Extract every member into `staging`, checking each against the manifest."""
    expected = dict(manifest.checksums)
    database_member = manifest.data["database"]["member"]
    seen: set[str] = set()
    with tarfile.open(src, "r|*") as tar:
        for member in tar:
            if member.name == MANIFEST or member.isdir():
                continue
            path = _safe_member(member.name)
            if not member.isreg():
                raise BackupError(f"unexpected entry in the backup: {member.name!r}")
            if member.name not in expected:
                raise BackupError(f"{member.name} is in the backup but not in its manifest")
            if member.name != database_member and path.parts[0] != FILES:
                raise BackupError(f"unexpected entry in the backup: {member.name!r}")
            target = staging.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            source = tar.extractfile(member)
            with target.open("wb") as out:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected[member.name]:
                raise BackupError(f"{member.name} does not match its checksum: damaged backup")
            seen.add(member.name)
    missing = set(expected) - seen
    if missing:
        raise BackupError(f"the backup is incomplete: {len(missing)} member(s) missing")
    return staging / database_member


def _load_database(url: URL, dump: Path) -> None:
    if _dialect(url) == "sqlite":
        target_path = _sqlite_path(url)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
        target = sqlite3.connect(target_path, timeout=30)
        try:
            # Page by page into the live file (its WAL included), as one write transaction.
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={url.database}",
                str(dump),
            ],
            _pg_env(url),
        )


def _swap_files(files_dir: Path, restored: Path) -> None:
    """Make the files folder hold exactly the restored tree."""
    restored.mkdir(parents=True, exist_ok=True)
    aside = Path(tempfile.mkdtemp(prefix=".before-restore-", dir=files_dir))
    for child in list(files_dir.iterdir()):
        if child.name.startswith((".restore-", ".before-restore-")):
            continue
        os.replace(child, aside / child.name)
    for child in list(restored.iterdir()):
        os.replace(child, files_dir / child.name)
    shutil.rmtree(aside, ignore_errors=True)
