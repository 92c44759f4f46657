"""Indexes for the server list order: (deleted, created_at, id) and per tenant
(project_id, deleted, created_at, id).

GET /servers[/detail] sorts live rows by created_at DESC, id DESC and pages
with a row-value keyset on (created_at, id) (lifeboat.db.instances); with
these indexes a page is an index range scan however deep it is, instead of a
sort of every live row. The tenant index starts with (project_id, deleted),
so it replaces ix_instances_project_deleted.

Also (source_compute, updated_at) on migrations: `lifeboat host drain` asks
for one source host's migrations changed since a moment, several times a
second, and the table grows with every migration ever made.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 11:30:00
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_instances_deleted_created_id', 'instances',
                    ['deleted', 'created_at', 'id'])
    op.create_index('ix_instances_project_deleted_created_id', 'instances',
                    ['project_id', 'deleted', 'created_at', 'id'])
    op.drop_index('ix_instances_project_deleted', table_name='instances')
    op.create_index('ix_migrations_source_compute_updated', 'migrations',
                    ['source_compute', 'updated_at'])


def downgrade():
    op.drop_index('ix_migrations_source_compute_updated', table_name='migrations')
    op.create_index('ix_instances_project_deleted', 'instances',
                    ['project_id', 'deleted'])
    op.drop_index('ix_instances_project_deleted_created_id', table_name='instances')
    op.drop_index('ix_instances_deleted_created_id', table_name='instances')
