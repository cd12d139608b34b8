"""LocalStorage: package trees get the umask's modes (nginx reads them); files stay private."""

import os
import stat

import pytest

from lms.app.storage import LocalStorage


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_a_stored_tree_is_readable_by_nginx(tmp_path, umask_022):
    # nginx runs as another user (www-data) and sends SCORM package files itself.
    storage = LocalStorage(tmp_path)
    storage.write_tree("scorm/abc", {"index.html": b"<p>x</p>", "media/a.mp4": b"v"})
    package = tmp_path / "scorm" / "abc"
    assert mode(package) == 0o755
    assert mode(package / "media") == 0o755
    assert mode(package / "index.html") == 0o644
    assert mode(package / "media" / "a.mp4") == 0o644
    assert [p.name for p in (tmp_path / "scorm").iterdir()] == ["abc"]


def test_a_replaced_tree_keeps_no_staging_folder(tmp_path, umask_022):
    storage = LocalStorage(tmp_path)
    storage.write_tree("scorm/abc", {"a.html": b"1"})
    storage.write_tree("scorm/abc", {"b.html": b"2"})
    assert storage.read_tree("scorm/abc") == {"b.html": b"2"}
    assert [p.name for p in (tmp_path / "scorm").iterdir()] == ["abc"]


def test_a_stored_file_is_private(tmp_path, umask_022):
    # Certificates, roster uploads, exports: personal data that only Hocvu sends.
    storage = LocalStorage(tmp_path)
    storage.write_file("certificates/1.pdf", b"%PDF")
    assert mode(tmp_path / "certificates" / "1.pdf") == 0o600
    storage.write_file("certificates/1.pdf", b"%PDF-2")
    assert (tmp_path / "certificates" / "1.pdf").read_bytes() == b"%PDF-2"
    assert [p.name for p in (tmp_path / "certificates").iterdir()] == ["1.pdf"]


def test_a_stricter_umask_is_kept(tmp_path):
    old = os.umask(0o027)
    try:
        LocalStorage(tmp_path).write_tree("scorm/abc", {"index.html": b"x"})
    finally:
        os.umask(old)
    assert mode(tmp_path / "scorm" / "abc") == 0o750
    assert mode(tmp_path / "scorm" / "abc" / "index.html") == 0o640
