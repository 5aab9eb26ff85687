"""CRM tables: users, teams, customers, contacts, deals, calls, activities, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 02:24:33.154761
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "agent",
                "manager",
                "director",
                "process_owner",
                "admin",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("locale", sa.String(length=10), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["users.id"],
            name=op.f("fk_users_manager_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_users_team_id_teams"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_users_team_id_role"), ["team_id", "role"], unique=False
        )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_log_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_actor_id_at"), ["actor_id", "at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_log_entity_type_entity_id_at"),
            ["entity_type", "entity_id", "at"],
            unique=False,
        )

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "person",
                "company",
                name="customerkind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.String(length=400), nullable=True),
        sa.Column("region", sa.String(length=80), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=True),
        sa.Column(
            "stage",
            sa.Enum(
                "new",
                "contacted",
                "interested",
                "opportunity",
                "customer",
                "lost",
                name="leadstage",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column(
            "pool_status",
            sa.Enum(
                "owned",
                "pool",
                name="poolstatus",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("protected_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("do_not_call", sa.Boolean(), nullable=False),
        sa.Column("dnc_reason", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_customers_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_customers_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_customers_team_id_teams"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_customers_owner_id_updated_at"), ["owner_id", "updated_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customers_pool_status_last_contact_at"),
            ["pool_status", "last_contact_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_customers_stage"), ["stage"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_customers_team_id_pool_status"), ["team_id", "pool_status"], unique=False
        )

    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column(
            "direction",
            sa.Enum(
                "outbound",
                "inbound",
                name="calldirection",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column(
            "disposition",
            sa.Enum(
                "connected_interested",
                "connected_other",
                "callback_requested",
                "no_answer",
                "busy",
                "voicemail",
                "wrong_number",
                "not_interested",
                "do_not_call",
                name="disposition",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recording_url", sa.String(length=500), nullable=True),
        sa.Column("external_id", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_calls_agent_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_calls_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("external_id", name=op.f("uq_calls_external_id")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calls_agent_id_started_at"), ["agent_id", "started_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_calls_customer_id_started_at"),
            ["customer_id", "started_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_calls_started_at"), ["started_at"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=True),
        sa.Column("phone_e164", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_contacts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_phone_e164"), ["phone_e164"], unique=False)

    op.create_table(
        "customer_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_phones_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_phones")),
    )
    with op.batch_alter_table("customer_phones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_phones_customer_id_position"),
            ["customer_id", "position"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_customer_phones_e164"), ["e164"], unique=True)

    op.create_table(
        "customer_tags",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_tags_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "tag", name=op.f("pk_customer_tags")),
    )
    with op.batch_alter_table("customer_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "deals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "stage",
            sa.Enum(
                "qualification",
                "proposal",
                "negotiation",
                "approval",
                "won",
                "lost",
                name="dealstage",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("discount_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("expected_close", sa.Date(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("lost_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_deals_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_deals_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_deals_team_id_teams"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deals_closed_at"), ["closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deals_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deals_owner_id_stage"), ["owner_id", "stage"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deals_stage_expected_close"), ["stage", "expected_close"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deals_team_id_stage"), ["team_id", "stage"], unique=False
        )

    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "note",
                "visit",
                "email",
                "system",
                name="activitykind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_activities_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_activities_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_activities_deal_id_deals"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activities_customer_id_created_at"),
            ["customer_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "deal_stage_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_stage",
            sa.Enum(
                "qualification",
                "proposal",
                "negotiation",
                "approval",
                "won",
                "lost",
                name="from_stage",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_stage",
            sa.Enum(
                "qualification",
                "proposal",
                "negotiation",
                "approval",
                "won",
                "lost",
                name="to_stage",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_deal_stage_changes_changed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deals.id"],
            name=op.f("fk_deal_stage_changes_deal_id_deals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_stage_changes")),
    )
    with op.batch_alter_table("deal_stage_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deal_stage_changes_deal_id_changed_at"),
            ["deal_id", "changed_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deal_stage_changes_to_stage_changed_at"),
            ["to_stage", "changed_at"],
            unique=False,
        )
    _audit_log_append_only()
    _customer_name_search_index()


def _audit_log_append_only() -> None:
    """Refuse UPDATE and DELETE on audit_log for every client, not only the ORM."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def _customer_name_search_index() -> None:
    """Substring search on names (Chinese included) uses a trigram index on PostgreSQL.

    The extension lives in ``public`` so that every schema (one per test run, or per tenant)
    shares it; a role that may not create extensions gets a warning and plain B-tree search.
    """
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    find = sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    )
    ext_schema = bind.execute(find).scalar()
    if ext_schema is None:
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        except sa.exc.DBAPIError:
            logging.getLogger(__name__).warning(
                "pg_trgm is not available: customer name search will not use a trigram index"
            )
            return
        ext_schema = bind.execute(find).scalar()
    bind.exec_driver_sql(
        "CREATE INDEX ix_customers_name_trgm ON customers "
        f'USING gin (name "{ext_schema}".gin_trgm_ops)'
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customers_name_trgm")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")

    with op.batch_alter_table("deal_stage_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_stage_changes_to_stage_changed_at"))
        batch_op.drop_index(batch_op.f("ix_deal_stage_changes_deal_id_changed_at"))

    op.drop_table("deal_stage_changes")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activities_customer_id_created_at"))

    op.drop_table("activities")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deals_team_id_stage"))
        batch_op.drop_index(batch_op.f("ix_deals_stage_expected_close"))
        batch_op.drop_index(batch_op.f("ix_deals_owner_id_stage"))
        batch_op.drop_index(batch_op.f("ix_deals_customer_id"))
        batch_op.drop_index(batch_op.f("ix_deals_closed_at"))

    op.drop_table("deals")
    with op.batch_alter_table("customer_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_tags_tag"))

    op.drop_table("customer_tags")
    with op.batch_alter_table("customer_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_phones_e164"))
        batch_op.drop_index(batch_op.f("ix_customer_phones_customer_id_position"))

    op.drop_table("customer_phones")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_phone_e164"))
        batch_op.drop_index(batch_op.f("ix_contacts_customer_id"))

    op.drop_table("contacts")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_started_at"))
        batch_op.drop_index(batch_op.f("ix_calls_customer_id_started_at"))
        batch_op.drop_index(batch_op.f("ix_calls_agent_id_started_at"))

    op.drop_table("calls")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_team_id_pool_status"))
        batch_op.drop_index(batch_op.f("ix_customers_stage"))
        batch_op.drop_index(batch_op.f("ix_customers_pool_status_last_contact_at"))
        batch_op.drop_index(batch_op.f("ix_customers_owner_id_updated_at"))
        batch_op.drop_index(batch_op.f("ix_customers_name"))
        batch_op.drop_index(batch_op.f("ix_customers_email"))

    op.drop_table("customers")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_entity_type_entity_id_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id_at"))

    op.drop_table("audit_log")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_team_id_role"))

    op.drop_table("users")
    op.drop_table("teams")
