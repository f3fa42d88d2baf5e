"""activity tally

How many activities each unit has per campaign and state, kept by triggers on `activity`: the
unfiltered list sums these rows over the viewer's units rather than counting every activity
(a million on a national campaign took 0.8-1.9 s on PostgreSQL).

On PostgreSQL an update that changes a row's state or unit touches two tally rows; the trigger
touches them in one fixed order, so two transactions (a city accepting what a county submits
meanwhile) never wait on each other crosswise. A later migration that rebuilds `activity` on
SQLite (batch_alter_table) drops these triggers and must create them again.

Revision ID: 7c1e5a3f9d20
Revises: b7d4e1a96c23
Create Date: 2026-12-05 23:58:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e5a3f9d20'
down_revision = 'b7d4e1a96c23'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = ["activity_tally_insert", "activity_tally_delete", "activity_tally_update"]


def _sqlite_add(row: str, delta: int) -> str:
    return (f"INSERT INTO activity_tally (campaign_id, unit_id, state, count) "
            f"VALUES ({row}.campaign_id, {row}.unit_id, {row}.state, {delta}) "
            f"ON CONFLICT (campaign_id, unit_id, state) DO UPDATE SET count = count + ({delta});")


def upgrade():
    op.create_table(
        'activity_tally',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.Enum('draft', 'submitted', 'accepted', 'returned', name='activitystate',
                                   native_enum=False, length=12), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_activity_tally_campaign_id_campaign')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_activity_tally_unit_id_unit')),
        sa.PrimaryKeyConstraint('campaign_id', 'unit_id', 'state', name=op.f('pk_activity_tally')),
    )
    op.execute("INSERT INTO activity_tally (campaign_id, unit_id, state, count) "
               "SELECT campaign_id, unit_id, state, count(*) FROM activity GROUP BY campaign_id, unit_id, state")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE TRIGGER activity_tally_insert AFTER INSERT ON activity BEGIN {_sqlite_add('new', 1)} END")
        op.execute(f"CREATE TRIGGER activity_tally_delete AFTER DELETE ON activity BEGIN {_sqlite_add('old', -1)} END")
        op.execute(f"""
            CREATE TRIGGER activity_tally_update AFTER UPDATE OF campaign_id, unit_id, state ON activity
            WHEN old.campaign_id IS NOT new.campaign_id OR old.unit_id IS NOT new.unit_id
                 OR old.state IS NOT new.state
            BEGIN {_sqlite_add('old', -1)} {_sqlite_add('new', 1)} END""")
        return
    op.execute("""
        CREATE FUNCTION activity_tally_add(campaign integer, unit integer, activity_state varchar, delta integer)
        RETURNS void LANGUAGE sql AS $$
            INSERT INTO activity_tally (campaign_id, unit_id, state, count)
            VALUES (campaign, unit, activity_state, delta)
            ON CONFLICT (campaign_id, unit_id, state) DO UPDATE SET count = activity_tally.count + delta
        $$""")
    op.execute("""
        CREATE FUNCTION activity_tally_count() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM activity_tally_add(NEW.campaign_id, NEW.unit_id, NEW.state, 1);
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM activity_tally_add(OLD.campaign_id, OLD.unit_id, OLD.state, -1);
            ELSIF (OLD.campaign_id, OLD.unit_id, OLD.state) IS DISTINCT FROM (NEW.campaign_id, NEW.unit_id, NEW.state) THEN
                -- the two rows in one order, whichever way the entry moves
                IF (OLD.campaign_id, OLD.unit_id, OLD.state) < (NEW.campaign_id, NEW.unit_id, NEW.state) THEN
                    PERFORM activity_tally_add(OLD.campaign_id, OLD.unit_id, OLD.state, -1);
                    PERFORM activity_tally_add(NEW.campaign_id, NEW.unit_id, NEW.state, 1);
                ELSE
                    PERFORM activity_tally_add(NEW.campaign_id, NEW.unit_id, NEW.state, 1);
                    PERFORM activity_tally_add(OLD.campaign_id, OLD.unit_id, OLD.state, -1);
                END IF;
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER activity_tally AFTER INSERT OR DELETE OR UPDATE OF campaign_id, unit_id, state "
               "ON activity FOR EACH ROW EXECUTE FUNCTION activity_tally_count()")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    else:
        op.execute("DROP TRIGGER IF EXISTS activity_tally ON activity")
        op.execute("DROP FUNCTION IF EXISTS activity_tally_count()")
        op.execute("DROP FUNCTION IF EXISTS activity_tally_add(integer, integer, varchar, integer)")
    op.drop_table('activity_tally')
