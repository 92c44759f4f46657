"""Initial schema: every table of lifeboat.db.models.

Written for SQLite, PostgreSQL and MariaDB/MySQL alike: portable types only
(sa.JSON, explicit String lengths) and explicitly named constraints and indexes,
so later migrations can drop them by name on every backend.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 08:29:39
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'flavors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('flavorid', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('memory_mb', sa.Integer(), nullable=False),
        sa.Column('vcpus', sa.Integer(), nullable=False),
        sa.Column('root_gb', sa.Integer(), nullable=False),
        sa.Column('ephemeral_gb', sa.Integer(), nullable=False),
        sa.Column('swap', sa.Integer(), nullable=False),
        sa.Column('rxtx_factor', sa.Double(), nullable=False),
        sa.Column('is_public', sa.Boolean(), nullable=False),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('extra_specs', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('flavorid', name='uq_flavors_flavorid'),
        sa.UniqueConstraint('name', name='uq_flavors_name')
    )

    op.create_table(
        'images',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('status', sa.String(length=30), nullable=False),
        sa.Column('visibility', sa.String(length=20), nullable=False),
        sa.Column('protected', sa.Boolean(), nullable=False),
        sa.Column('owner', sa.String(length=255), nullable=True),
        sa.Column('disk_format', sa.String(length=20), nullable=True),
        sa.Column('container_format', sa.String(length=20), nullable=True),
        sa.Column('size', sa.BigInteger(), nullable=True),
        sa.Column('virtual_size', sa.BigInteger(), nullable=True),
        sa.Column('checksum', sa.String(length=32), nullable=True),
        sa.Column('os_hash_algo', sa.String(length=64), nullable=True),
        sa.Column('os_hash_value', sa.String(length=128), nullable=True),
        sa.Column('min_disk', sa.Integer(), nullable=False),
        sa.Column('min_ram', sa.Integer(), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('properties', sa.JSON(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )

    op.create_table(
        'instance_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=255), nullable=False),
        sa.Column('instance_uuid', sa.String(length=36), nullable=False),
        sa.Column('request_id', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.String(length=255), nullable=True),
        sa.Column('project_id', sa.String(length=255), nullable=True),
        sa.Column('start_time', sa.DateTime(), nullable=False),
        sa.Column('finish_time', sa.DateTime(), nullable=True),
        sa.Column('message', sa.String(length=255), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_instance_actions_instance_uuid', 'instance_actions', ['instance_uuid'])
    op.create_index('ix_instance_actions_request_id', 'instance_actions', ['request_id'])

    op.create_table(
        'instance_faults',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_uuid', sa.String(length=36), nullable=False),
        sa.Column('code', sa.Integer(), nullable=False),
        sa.Column('message', sa.String(length=255), nullable=False),
        sa.Column('details', sa.Text(), nullable=True),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_instance_faults_instance_uuid', 'instance_faults', ['instance_uuid'])

    op.create_table(
        'migrations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('instance_uuid', sa.String(length=36), nullable=False),
        sa.Column('migration_type', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('source_compute', sa.String(length=255), nullable=True),
        sa.Column('source_node', sa.String(length=255), nullable=True),
        sa.Column('dest_compute', sa.String(length=255), nullable=True),
        sa.Column('dest_node', sa.String(length=255), nullable=True),
        sa.Column('dest_host', sa.String(length=255), nullable=True),
        sa.Column('old_instance_type_id', sa.Integer(), nullable=True),
        sa.Column('new_instance_type_id', sa.Integer(), nullable=True),
        sa.Column('block_migration', sa.Boolean(), nullable=True),
        sa.Column('shared_storage', sa.Boolean(), nullable=True),
        sa.Column('memory_total', sa.BigInteger(), nullable=True),
        sa.Column('memory_processed', sa.BigInteger(), nullable=True),
        sa.Column('memory_remaining', sa.BigInteger(), nullable=True),
        sa.Column('disk_total', sa.BigInteger(), nullable=True),
        sa.Column('disk_processed', sa.BigInteger(), nullable=True),
        sa.Column('disk_remaining', sa.BigInteger(), nullable=True),
        sa.Column('user_id', sa.String(length=255), nullable=True),
        sa.Column('project_id', sa.String(length=255), nullable=True),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uuid', name='uq_migrations_uuid')
    )
    op.create_index('ix_migrations_instance_uuid', 'migrations', ['instance_uuid'])
    op.create_index('ix_migrations_status', 'migrations', ['status'])

    op.create_table(
        'services',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('binary', sa.String(length=255), nullable=False),
        sa.Column('topic', sa.String(length=255), nullable=True),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_reason', sa.String(length=255), nullable=True),
        sa.Column('forced_down', sa.Boolean(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('report_count', sa.Integer(), nullable=False),
        sa.Column('last_seen_up', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('host', 'binary', name='uq_services_host_binary'),
        sa.UniqueConstraint('uuid', name='uq_services_uuid')
    )

    op.create_table(
        'compute_nodes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('hypervisor_hostname', sa.String(length=255), nullable=False),
        sa.Column('hypervisor_type', sa.String(length=255), nullable=False),
        sa.Column('hypervisor_version', sa.Integer(), nullable=False),
        sa.Column('host_ip', sa.String(length=64), nullable=True),
        sa.Column('vcpus', sa.Integer(), nullable=False),
        sa.Column('memory_mb', sa.Integer(), nullable=False),
        sa.Column('local_gb', sa.Integer(), nullable=False),
        sa.Column('vcpus_used', sa.Integer(), nullable=False),
        sa.Column('memory_mb_used', sa.Integer(), nullable=False),
        sa.Column('local_gb_used', sa.Integer(), nullable=False),
        sa.Column('running_vms', sa.Integer(), nullable=False),
        sa.Column('cpu_info', sa.JSON(), nullable=False),
        sa.Column('capabilities', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['service_id'], ['services.id'], name='fk_compute_nodes_service_id'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('hypervisor_hostname', name='uq_compute_nodes_hypervisor_hostname'),
        sa.UniqueConstraint('uuid', name='uq_compute_nodes_uuid')
    )
    op.create_index('ix_compute_nodes_host', 'compute_nodes', ['host'])

    op.create_table(
        'instance_actions_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action_id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=255), nullable=False),
        sa.Column('start_time', sa.DateTime(), nullable=False),
        sa.Column('finish_time', sa.DateTime(), nullable=True),
        sa.Column('result', sa.String(length=255), nullable=True),
        sa.Column('traceback', sa.Text(), nullable=True),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.Column('details', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['action_id'], ['instance_actions.id'], name='fk_instance_actions_events_action_id'),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_instance_actions_events_action_id', 'instance_actions_events', ['action_id'])

    op.create_table(
        'instances',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('display_name', sa.String(length=255), nullable=False),
        sa.Column('display_description', sa.Text(), nullable=True),
        sa.Column('hostname', sa.String(length=255), nullable=True),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.String(length=255), nullable=False),
        sa.Column('image_ref', sa.String(length=255), nullable=True),
        sa.Column('kernel_id', sa.String(length=255), nullable=True),
        sa.Column('ramdisk_id', sa.String(length=255), nullable=True),
        sa.Column('flavor_id', sa.Integer(), nullable=False),
        sa.Column('flavor', sa.JSON(), nullable=False),
        sa.Column('vcpus', sa.Integer(), nullable=False),
        sa.Column('memory_mb', sa.Integer(), nullable=False),
        sa.Column('root_gb', sa.Integer(), nullable=False),
        sa.Column('ephemeral_gb', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.Column('node', sa.String(length=255), nullable=True),
        sa.Column('vm_state', sa.String(length=255), nullable=False),
        sa.Column('task_state', sa.String(length=255), nullable=True),
        sa.Column('power_state', sa.Integer(), nullable=False),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('launched_at', sa.DateTime(), nullable=True),
        sa.Column('terminated_at', sa.DateTime(), nullable=True),
        sa.Column('deleted', sa.Integer(), nullable=False),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.Column('metadata', sa.JSON(), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('key_name', sa.String(length=255), nullable=True),
        sa.Column('user_data', sa.Text(), nullable=True),
        sa.Column('config_drive', sa.String(length=255), nullable=False),
        sa.Column('availability_zone', sa.String(length=255), nullable=True),
        sa.Column('access_ip_v4', sa.String(length=64), nullable=True),
        sa.Column('access_ip_v6', sa.String(length=64), nullable=True),
        sa.Column('launch_index', sa.Integer(), nullable=False),
        sa.Column('reservation_id', sa.String(length=255), nullable=True),
        sa.Column('root_device_name', sa.String(length=255), nullable=True),
        sa.Column('locked', sa.Boolean(), nullable=False),
        sa.Column('locked_by', sa.String(length=10), nullable=True),
        sa.Column('locked_reason', sa.String(length=255), nullable=True),
        sa.Column('rescue_image_ref', sa.String(length=255), nullable=True),
        sa.Column('rescue_kernel_id', sa.String(length=255), nullable=True),
        sa.Column('rescue_ramdisk_id', sa.String(length=255), nullable=True),
        sa.Column('rescue_layout', sa.JSON(), nullable=True),
        sa.Column('rescued_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['flavor_id'], ['flavors.id'], name='fk_instances_flavor_id'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uuid', name='uq_instances_uuid')
    )
    op.create_index('ix_instances_host_deleted', 'instances', ['host', 'deleted'])
    op.create_index('ix_instances_project_deleted', 'instances', ['project_id', 'deleted'])


def downgrade():
    # Indexes go with their tables; drop children before parents.
    op.drop_table('instances')
    op.drop_table('instance_actions_events')
    op.drop_table('compute_nodes')
    op.drop_table('services')
    op.drop_table('migrations')
    op.drop_table('instance_faults')
    op.drop_table('instance_actions')
    op.drop_table('images')
    op.drop_table('flavors')
