"""`hocvu backup` and `hocvu restore`: database and files in one archive, and back."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.app.storage import LocalStorage
from lms.models import CourseVersion, ScormPackage, User
from lms.setup.backup import MANIFEST
from tests.lms.test_scorm_tracking import scorm_version


@pytest.fixture
def storage(app) -> LocalStorage:
    return LocalStorage(app.config["HOCVU_FILES_DIR"])


def _skip_without_tools(backend):
    if backend == "postgresql" and (shutil.which("pg_dump") is None):
        pytest.skip("pg_dump/pg_restore are not installed")


def _usernames(session) -> set[str]:
    session.rollback()
    return set(session.scalars(select(User.username)))


@pytest.mark.parametrize("name", ["hocvu.tar.gz", "hocvu.tar"])
def test_backup_change_restore_brings_back_data_and_files(
    app, backend, runner, make, session, storage, tmp_path, name
):
    _skip_without_tools(backend)
    make.learner(make.unit(), username="hv.truoc")
    make.commit()
    version_id = scorm_version(session, storage.root).id
    session.commit()
    package_path = session.scalars(select(ScormPackage.files_path)).one()
    storage.write_file("certificates/2026/HV-000001.pdf", b"%PDF-1.7 signed")
    session.close()  # PostgreSQL: no open transaction may hold a lock on a restored table

    archive = tmp_path / "backups" / name
    result = runner.invoke(args=["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert "Backup written" in result.output

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile(MANIFEST))
    assert names[0] == MANIFEST
    assert manifest["alembic_revision"] and manifest["version"] == "0.1.0"
    assert manifest["database"]["dialect"] == backend
    assert "files/certificates/2026/HV-000001.pdf" in manifest["checksums"]
    assert f"files/{package_path}/imsmanifest.xml" in names
    assert set(manifest["checksums"]) == set(names) - {MANIFEST}

    # Changes after the backup: a new account, one removed, a certificate and a package lost.
    make.learner(make.unit(), username="hv.sau")
    make.commit()
    session.delete(session.scalars(select(User).where(User.username == "hv.truoc")).one())
    session.commit()
    (storage.root / "certificates/2026/HV-000001.pdf").unlink()
    shutil.rmtree(storage.root / package_path)
    storage.write_file("exports/new.zip", b"made later")
    session.close()

    refused = runner.invoke(args=["restore", str(archive)])
    assert refused.exit_code != 0
    assert "already holds data" in refused.output and "--force" in refused.output
    assert "hv.sau" in _usernames(session)  # nothing changed
    session.close()

    result = runner.invoke(args=["restore", "--force", str(archive)])
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output
    names_now = _usernames(session)
    assert "hv.truoc" in names_now and "hv.sau" not in names_now
    assert (storage.root / "certificates/2026/HV-000001.pdf").read_bytes() == b"%PDF-1.7 signed"
    assert (storage.root / package_path / "imsmanifest.xml").is_file()
    assert not (storage.root / "exports/new.zip").exists()
    assert not [p for p in storage.root.iterdir() if p.name.startswith(".")]
    assert session.get(CourseVersion, version_id) is not None


def _rewrite(archive: Path, target: Path, change) -> None:
    """Copy a backup, passing the manifest (dict) and members through `change`."""
    with tarfile.open(archive) as tar, tarfile.open(target, "w:gz") as out:
        for member in tar:
            data = tar.extractfile(member).read() if member.isfile() else None
            if member.name == MANIFEST:
                manifest = json.loads(data)
                change(manifest, None)
                data = json.dumps(manifest).encode()
            else:
                data = change(None, (member.name, data)) or data
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))


def test_restore_refuses_a_newer_schema_and_a_damaged_backup(
    app, backend, runner, make, session, tmp_path
):
    _skip_without_tools(backend)
    make.learner(make.unit(), username="hv.giu")
    make.commit()
    session.close()
    archive = tmp_path / "good.tar.gz"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0

    def newer(manifest, _member):
        if manifest is not None:
            manifest["alembic_revision"] = "9999_from_the_future"
            manifest["version"] = "9.0.0"

    future = tmp_path / "future.tar.gz"
    _rewrite(archive, future, newer)
    result = runner.invoke(args=["restore", "--force", str(future)])
    assert result.exit_code != 0
    assert "newer than this Hocvu knows" in result.output and "9.0.0" in result.output

    def damaged(manifest, member):
        if member and member[0].startswith("database."):
            return member[1][:-1] + bytes([member[1][-1] ^ 1])
        return None

    broken = tmp_path / "broken.tar.gz"
    _rewrite(archive, broken, damaged)
    result = runner.invoke(args=["restore", "--force", str(broken)])
    assert result.exit_code != 0
    assert "does not match its checksum" in result.output
    assert "hv.giu" in _usernames(session)  # the database was not touched

    not_a_backup = tmp_path / "other.tar"
    with tarfile.open(not_a_backup, "w") as tar:
        tar.addfile(tarfile.TarInfo("hello.txt"), io.BytesIO(b""))
    result = runner.invoke(args=["restore", "--force", str(not_a_backup)])
    assert result.exit_code != 0 and "not a Hocvu backup" in result.output


def test_restore_into_an_empty_database_needs_no_force(
    app, backend, runner, make, session, tmp_path, databases
):
    _skip_without_tools(backend)
    make.learner(make.unit(), username="hv.moi")
    make.commit()
    session.close()
    archive = tmp_path / "b.tgz"
    assert runner.invoke(args=["backup", str(archive)]).exit_code == 0
    databases[backend].empty()
    assert _usernames(session) == set()
    session.close()
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert _usernames(session) == {"hv.moi"}
