"""the reporting tree

Issue 15. Units form a tree: `unit.parent_id`, a materialized path of ids (`unit.path`,
"/1/7/", indexed, so a subtree is one `path LIKE '/1/7/%'` query at any depth), `unit.depth`
and `unit.retired_at`; a campaign names its root (the issuing department) and the issuer's
own actions from the notice.

Upgrading in place: when the database holds units, the issuing department becomes a unit
(found by its code if it is there already, else created with the active campaign's issuer
as its name), every unit without a parent becomes its child, paths and depths are set,
every campaign points at it and the province admins move into it. No row is deleted and
no id changes, so entries, reports, reminders and the audit trail stay with their units.

Revision ID: d1e5a7c0b915
Revises: 486dc3e883ac
Create Date: 2026-12-05 14:20:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd1e5a7c0b915'
down_revision = '486dc3e883ac'
branch_labels = None
depends_on = None

# The 2024 campaign file's issuer_code; another issuer gets a neutral code (renamed on the tree page).
ROOT_CODES = {"山东省住房和城乡建设厅": "shandong-zjt"}
DEFAULT_ROOT = ("山东省住房和城乡建设厅", "shandong-zjt")


def upgrade():
    with op.batch_alter_table('unit', recreate='never') as batch_op:
        batch_op.add_column(sa.Column('path', sa.String(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('depth', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('campaign', recreate='never') as batch_op:
        batch_op.add_column(sa.Column('issuer_actions', sa.JSON(), nullable=False, server_default='[]'))
    _add_foreign_keys()
    op.create_index(op.f('ix_unit_parent_id'), 'unit', ['parent_id'], unique=False)
    op.create_index(op.f('ix_unit_path'), 'unit', ['path'], unique=False)
    _make_tree(op.get_bind())
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot drop a default in place; the ORM sets them
        op.alter_column('unit', 'path', server_default=None)
        op.alter_column('unit', 'depth', server_default=None)
        op.alter_column('campaign', 'issuer_actions', server_default=None)


def _add_foreign_keys():
    """PostgreSQL adds the constraints in place. SQLite cannot ALTER a constraint in, and a
    batch rebuild would cost the tables their AUTOINCREMENT, so there the columns are added
    with a REFERENCES clause (which ALTER TABLE ADD COLUMN accepts for a NULL default)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE unit ADD COLUMN parent_id INTEGER REFERENCES unit (id)")
        op.execute("ALTER TABLE campaign ADD COLUMN root_unit_id INTEGER REFERENCES unit (id)")
        return
    op.add_column('unit', sa.Column('parent_id', sa.Integer(), nullable=True))
    op.add_column('campaign', sa.Column('root_unit_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_unit_parent_id_unit'), 'unit', 'unit', ['parent_id'], ['id'])
    op.create_foreign_key(op.f('fk_campaign_root_unit_id_unit'), 'campaign', 'unit', ['root_unit_id'], ['id'])


def _make_tree(bind):
    units = sa.table('unit', sa.column('id', sa.Integer), sa.column('code', sa.String),
                     sa.column('name', sa.String), sa.column('city', sa.String),
                     sa.column('department', sa.String), sa.column('position', sa.Integer),
                     sa.column('parent_id', sa.Integer), sa.column('path', sa.String),
                     sa.column('depth', sa.Integer))
    campaigns = sa.table('campaign', sa.column('id', sa.Integer), sa.column('issuer', sa.String),
                         sa.column('is_active', sa.Boolean), sa.column('root_unit_id', sa.Integer))
    users = sa.table('user', sa.column('unit_id', sa.Integer), sa.column('role', sa.String))
    if bind.execute(sa.select(sa.func.count()).select_from(units)).scalar() == 0:
        return  # a new instance: loading the campaign file makes the root
    issuer = bind.execute(sa.select(campaigns.c.issuer).order_by(campaigns.c.is_active.desc(),
                                                                 campaigns.c.id.desc()).limit(1)).scalar()
    name, code = (issuer, ROOT_CODES.get(issuer, "issuer")) if issuer else DEFAULT_ROOT
    root_id = bind.execute(sa.select(units.c.id).where(units.c.code == code)).scalar()
    if root_id is None:
        root_id = bind.execute(units.insert().values(
            code=code, name=name[:120], city="省直", department="zj", position=0,
            parent_id=None, path="", depth=0).returning(units.c.id)).scalar()
    bind.execute(units.update().where(units.c.id == root_id).values(parent_id=None, path=f"/{root_id}/", depth=0))
    bind.execute(units.update().where(units.c.id != root_id, units.c.parent_id.is_(None))
                 .values(parent_id=root_id))
    _set_paths(bind, units, root_id, f"/{root_id}/", 0)
    bind.execute(campaigns.update().values(root_unit_id=root_id))
    bind.execute(users.update().where(users.c.role == "province_admin").values(unit_id=root_id))


def _set_paths(bind, units, parent_id: int, parent_path: str, parent_depth: int) -> None:
    """Paths level by level (one UPDATE per level, not per unit)."""
    level = [(parent_id, parent_path)]
    depth = parent_depth
    while level:
        depth += 1
        next_level = []
        for node_id, node_path in level:
            children = bind.execute(sa.select(units.c.id).where(units.c.parent_id == node_id)).scalars().all()
            if not children:
                continue
            bind.execute(units.update().where(units.c.parent_id == node_id).values(
                path=sa.literal(node_path) + sa.cast(units.c.id, sa.String) + sa.literal("/"), depth=depth))
            next_level += [(child, f"{node_path}{child}/") for child in children]
        level = next_level


def downgrade():
    """The roots stay as plain units (their entries keep a unit to belong to); province admins leave them."""
    bind = op.get_bind()
    users = sa.table('user', sa.column('unit_id', sa.Integer), sa.column('role', sa.String))
    bind.execute(users.update().where(users.c.role == "province_admin").values(unit_id=None))
    op.drop_index(op.f('ix_unit_path'), table_name='unit')
    op.drop_index(op.f('ix_unit_parent_id'), table_name='unit')
    with op.batch_alter_table('campaign') as batch_op:
        batch_op.drop_constraint(op.f('fk_campaign_root_unit_id_unit'), type_='foreignkey')
        batch_op.drop_column('issuer_actions')
        batch_op.drop_column('root_unit_id')
    with op.batch_alter_table('unit') as batch_op:
        batch_op.drop_constraint(op.f('fk_unit_parent_id_unit'), type_='foreignkey')
        for column in ('retired_at', 'depth', 'path', 'parent_id'):
            batch_op.drop_column(column)
