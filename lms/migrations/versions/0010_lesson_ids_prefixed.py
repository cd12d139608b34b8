"""lesson pages stored before their ids were prefixed: sanitized again

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 09:00:00.000000

A lesson's HTML is rendered once, when its course is imported, and stored. Pages imported
before courses.markdown prefixed ids ("hocvu-md-") still carry the author's ids as written,
which can clobber the page's globals (window.csrf_token, a second #main), and video frames
with whatever `allow` the author pasted (camera, clipboard-write...). The allow-list run
again on the stored HTML prefixes the ids and their in-page links and sets the frames' `allow`;
it changes nothing else (it is the allow-list that produced the HTML; twice is once).

"""
from alembic import op
import sqlalchemy as sa

from courses.markdown import sanitize


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

activity = sa.table(
    'activity',
    sa.column('id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('content', sa.JSON),
)


def upgrade():
    connection = op.get_bind()
    pages = connection.execute(
        sa.select(activity.c.id, activity.c.content).where(activity.c.kind == 'page')
    ).all()
    for activity_id, content in pages:
        html = (content or {}).get('html')
        if html and sanitize(html) != html:
            connection.execute(
                activity.update()
                .where(activity.c.id == activity_id)
                .values(content={**content, 'html': sanitize(html)})
            )


def downgrade():
    # Nothing to undo: prefixed ids and the links to them work with the older code too.
    pass
