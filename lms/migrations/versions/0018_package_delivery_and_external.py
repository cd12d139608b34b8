"""SCORM packages stored before: each SCO's delivery controls and what the package loads
from other sites, read from its files

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-14 10:00:00.000000

A package is described once, when it is uploaded (scorm_package.manifest). The description
now also keeps each SCO's imsss:deliveryControls (the end of an attempt completes a SCO that
reported nothing unless the manifest says the content sets its status itself) and the URLs of
other sites the package loads (the version page warns about those the content policy blocks).
Packages stored before get both from their files under HOCVU_FILES_DIR; one whose files are not
there keeps its description (and the spec's default delivery controls).

"""
from collections.abc import Iterator, Mapping
from pathlib import Path

from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

scorm_package = sa.table(
    'scorm_package',
    sa.column('id', sa.Integer),
    sa.column('files_path', sa.String),
    sa.column('manifest', sa.JSON),
)


class _Files(Mapping):
    """A stored package's files, read from disk only when asked for (videos never are)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._names = sorted(
            p.relative_to(root).as_posix() for p in root.rglob('*') if p.is_file()
        )

    def __getitem__(self, name: str) -> bytes:
        return (self._root / name).read_bytes()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def upgrade():
    from lms.services.tracking.packages import describe_stored
    from scorm.errors import PackageError
    from scorm.manifest import MANIFEST, parse_manifest, with_files

    files_dir = Path(current_app.config['HOCVU_FILES_DIR'])
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(scorm_package.c.id, scorm_package.c.files_path, scorm_package.c.manifest)
    ).all()
    for package_id, files_path, manifest in rows:
        root = files_dir / files_path
        if not (root / MANIFEST).is_file() or manifest is None:
            continue
        files = _Files(root)
        try:
            fresh = describe_stored(
                with_files(parse_manifest(files[MANIFEST], set(files)), files)
            )
        except (PackageError, OSError, ValueError):
            continue
        delivery = {s['identifier']: s['delivery'] for s in fresh['scos'] if 'delivery' in s}
        scos = [
            {**sco, 'delivery': delivery[sco['identifier']]}
            if sco['identifier'] in delivery
            else sco
            for sco in manifest.get('scos', [])
        ]
        connection.execute(
            scorm_package.update()
            .where(scorm_package.c.id == package_id)
            .values(manifest={**manifest, 'scos': scos, 'external': fresh['external']})
        )


def downgrade():
    # The added keys are ignored by the older code.
    pass
