"""Customer services: create, update, search, duplicate checks, row-level scoping and audit."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from crm.customers import create_customer, get_customer, search_customers, update_customer
from crm.models import AuditEntry, Customer, CustomerPhone, PoolStatus, User
from crm.users import create_user
from dialflow.errors import DuplicateCustomer, Forbidden, InvalidInput, NotFound
from tests.conftest import backend, count


def fields(error: InvalidInput) -> set[str]:
    return {d["field"] for d in error.details}


def audit_entries(session, entity_type: str = "customer", action: str | None = None):
    query = select(AuditEntry).where(AuditEntry.entity_type == entity_type)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query.order_by(AuditEntry.id)))


def names(page) -> set[str]:
    return {c.name for c in page.items}


# --- create ---------------------------------------------------------------------------------


def test_create_stores_normalized_phone_and_owner(db, make_user):
    agent = make_user("agent")
    with db() as session:
        customer = create_customer(
            session,
            {"name": " 王小明 ", "phone": "138-0013-8000", "email": "Wang@Example.COM"},
            actor=agent,
        )
        customer_id = customer.id
    with db() as session:
        stored = get_customer(session, customer_id)
        assert stored.name == "王小明"
        assert [p.e164 for p in stored.phones] == ["+8613800138000"]
        assert stored.email == "wang@example.com"
        assert stored.owner_id == agent.id
        assert stored.team_id == agent.team_id
        assert stored.pool_status == PoolStatus.OWNED
        assert stored.created_by_id == agent.id
        assert stored.timezone == "Asia/Shanghai"


def test_create_keeps_several_phones_in_order_without_repeats(db, make_user):
    agent = make_user("agent")
    with db() as session:
        customer = create_customer(
            session,
            {"name": "李雷", "phones": ["13900139000", "+86 138 0013 8000", "139-0013-9000"]},
            actor=agent,
        )
        assert [p.e164 for p in customer.phones] == ["+8613900139000", "+8613800138000"]


def test_customer_created_by_a_non_agent_goes_to_the_pool(db, make_user):
    admin = make_user("admin")
    with db() as session:
        customer = create_customer(session, {"name": "池客户", "phone": "13800138000"}, actor=admin)
        assert customer.owner_id is None
        assert customer.pool_status == PoolStatus.POOL


def test_create_with_explicit_owner(db, make_user):
    manager = make_user("manager", username="boss")
    agent = make_user("agent", username="li", team="West")
    with db() as session:
        customer = create_customer(
            session, {"name": "分配", "phone": "13800138000", "owner": "li"}, actor=manager
        )
        assert customer.owner_id == agent.id
        assert customer.team_id == agent.team_id


def test_duplicate_phone_in_another_format_is_refused(db, make_user, make_customer, subtests):
    agent = make_user("agent")
    existing = make_customer(actor=agent, name="王小明", phone="138 0013 8000")
    for same_phone in ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "8613800138000"]:
        with subtests.test(phone=same_phone):
            with pytest.raises(DuplicateCustomer) as caught, db() as session:
                create_customer(session, {"name": "另一个人", "phone": same_phone}, actor=agent)
            error = caught.value
            assert error.code == "duplicate_customer"
            assert error.status == 409
            assert f"#{existing.id}" in error.message
            assert "王小明" in error.message
            assert error.details[0]["field"] == "phone"
            assert error.details[0]["existing_id"] == existing.id
    with db() as session:
        assert count(session, Customer) == 1
        assert count(session, CustomerPhone) == 1


def test_duplicate_among_several_phones_is_refused(db, make_user, make_customer):
    agent = make_user("agent")
    make_customer(actor=agent, name="王小明", phone="13800138000")
    with pytest.raises(DuplicateCustomer), db() as session:
        create_customer(
            session, {"name": "新客户", "phones": ["13900139000", "138 0013 8000"]}, actor=agent
        )
    with db() as session:
        assert count(session, Customer) == 1


def test_duplicate_email_ignores_case(db, make_user, make_customer):
    agent = make_user("agent")
    existing = make_customer(actor=agent, name="Lily Chen", email="Lily.Chen@Example.com")
    with pytest.raises(DuplicateCustomer) as caught, db() as session:
        create_customer(
            session,
            {"name": "Someone Else", "email": "LILY.CHEN@example.COM", "phone": "13900139000"},
            actor=agent,
        )
    assert caught.value.code == "duplicate_customer"
    assert f"#{existing.id}" in caught.value.message
    assert "Lily Chen" in caught.value.message
    assert caught.value.details[0]["field"] == "email"
    with db() as session:
        assert count(session, Customer) == 1
        assert count(session, CustomerPhone) == 0


def test_duplicate_check_crosses_ownership(db, make_user, make_customer):
    """A customer another agent owns is still a duplicate, even though the agent cannot see it."""
    owner = make_user("agent")
    other = make_user("agent", team="West")
    make_customer(actor=owner, name="别人的客户", phone="13800138000")
    with pytest.raises(DuplicateCustomer), db() as session:
        create_customer(session, {"name": "抢客户", "phone": "13800138000"}, actor=other)


def test_missing_name_is_reported_on_the_name_field(db, make_user):
    agent = make_user("agent")
    with pytest.raises(InvalidInput) as caught, db() as session:
        create_customer(session, {"phone": "13800138000"}, actor=agent)
    assert caught.value.code == "invalid_input"
    assert "name" in fields(caught.value)
    with db() as session:
        assert count(session, Customer) == 0


def test_blank_name_is_refused(db, make_user, subtests):
    agent = make_user("agent")
    for blank in ["", "   ", None]:
        with subtests.test(name=blank):
            with pytest.raises(InvalidInput) as caught, db() as session:
                create_customer(session, {"name": blank, "phone": "13800138000"}, actor=agent)
            assert "name" in fields(caught.value)
    with db() as session:
        assert count(session, Customer) == 0


def test_every_bad_field_is_reported_at_once(db, make_user):
    agent = make_user("agent")
    data = {
        "phone": "12345",
        "email": "not-an-email",
        "kind": "robot",
        "stage": "sold",
        "timezone": "Mars/Olympus",
        "consent": "perhaps",
        "company": "x" * 201,
    }
    with pytest.raises(InvalidInput) as caught, db() as session:
        create_customer(session, data, actor=agent)
    assert fields(caught.value) >= {
        "name",
        "phone",
        "email",
        "kind",
        "stage",
        "timezone",
        "consent",
        "company",
    }
    assert all(d["message"] for d in caught.value.details)
    with db() as session:
        assert count(session, Customer) == 0


def test_a_customer_needs_a_phone_or_an_email(db, make_user):
    agent = make_user("agent")
    with pytest.raises(InvalidInput) as caught, db() as session:
        create_customer(session, {"name": "无联系方式"}, actor=agent)
    assert "phone" in fields(caught.value)


def test_non_mapping_input_is_invalid(db, make_user):
    agent = make_user("agent")
    with pytest.raises(InvalidInput), db() as session:
        create_customer(session, ["name", "phone"], actor=agent)  # type: ignore[arg-type]


def test_unknown_owner_is_reported(db, make_user):
    admin = make_user("admin")
    with pytest.raises(InvalidInput) as caught, db() as session:
        create_customer(
            session, {"name": "x", "phone": "13800138000", "owner": "ghost"}, actor=admin
        )
    assert "owner" in fields(caught.value)


# --- update ---------------------------------------------------------------------------------


def test_update_changes_fields(db, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(actor=agent, name="旧名字", phone="13800138000")
    with db() as session:
        update_customer(
            session,
            customer.id,
            {"name": "新名字", "stage": "interested", "tags": "VIP, 高意向"},
            actor=agent,
        )
    with db() as session:
        stored = get_customer(session, customer.id)
        assert stored.name == "新名字"
        assert stored.stage.value == "interested"
        assert stored.tags == sorted(["VIP", "高意向"])
        assert stored.primary_phone == "+8613800138000"


def test_update_can_replace_the_phone(db, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(actor=agent, phone="13800138000")
    with db() as session:
        update_customer(session, customer.id, {"phone": "139 0013 9000"}, actor=agent)
    with db() as session:
        assert [p.e164 for p in get_customer(session, customer.id).phones] == ["+8613900139000"]
        assert count(session, CustomerPhone) == 1


def test_update_to_another_customers_phone_is_refused_and_changes_nothing(
    db, make_user, make_customer
):
    agent = make_user("agent")
    first = make_customer(actor=agent, name="甲", phone="13800138000")
    second = make_customer(actor=agent, name="乙", phone="13900139000")
    with pytest.raises(DuplicateCustomer) as caught, db() as session:
        update_customer(
            session, second.id, {"name": "乙改名", "phone": "+86 138-0013-8000"}, actor=agent
        )
    assert f"#{first.id}" in caught.value.message
    assert "甲" in caught.value.message
    with db() as session:
        stored = get_customer(session, second.id)
        assert stored.name == "乙"
        assert stored.primary_phone == "+8613900139000"
        assert audit_entries(session, action="update") == []


def test_update_to_another_customers_email_is_refused(db, make_user, make_customer):
    agent = make_user("agent")
    make_customer(actor=agent, name="甲", email="jia@example.com")
    second = make_customer(actor=agent, name="乙", email="yi@example.com")
    with pytest.raises(DuplicateCustomer), db() as session:
        update_customer(session, second.id, {"email": "JIA@example.com"}, actor=agent)
    with db() as session:
        assert get_customer(session, second.id).email == "yi@example.com"


def test_update_keeping_its_own_email_is_not_a_duplicate(db, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(actor=agent, name="甲", email="jia@example.com")
    with db() as session:
        update_customer(
            session, customer.id, {"email": "Jia@Example.com", "name": "甲甲"}, actor=agent
        )
    with db() as session:
        assert get_customer(session, customer.id).name == "甲甲"


@pytest.mark.parametrize(
    "phones", [["138 0013 8000"], ["13800138000", "13900139000"]], ids=["same", "added"]
)
def test_update_keeping_its_own_phone_is_not_a_duplicate(db, make_user, make_customer, phones):
    agent = make_user("agent")
    customer = make_customer(actor=agent, phone="13800138000")
    with db() as session:
        update_customer(session, customer.id, {"phones": phones}, actor=agent)
    with db() as session:
        assert get_customer(session, customer.id).primary_phone == "+8613800138000"


def test_update_cannot_blank_the_name(db, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(actor=agent, name="有名字")
    with pytest.raises(InvalidInput) as caught, db() as session:
        update_customer(session, customer.id, {"name": ""}, actor=agent)
    assert "name" in fields(caught.value)
    with db() as session:
        assert get_customer(session, customer.id).name == "有名字"


def test_update_with_bad_fields_reports_them_and_changes_nothing(db, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(actor=agent, name="原样")
    with pytest.raises(InvalidInput) as caught, db() as session:
        update_customer(
            session, customer.id, {"name": "新", "email": "nope", "stage": "??"}, actor=agent
        )
    assert fields(caught.value) == {"email", "stage"}
    with db() as session:
        assert get_customer(session, customer.id).name == "原样"


def test_update_of_a_customer_the_agent_cannot_see_is_not_found(db, make_user, make_customer):
    owner = make_user("agent")
    other = make_user("agent")
    customer = make_customer(actor=owner, name="别人的")
    with pytest.raises(NotFound), db() as session:
        update_customer(session, customer.id, {"name": "改"}, actor=other)
    with db() as session:
        assert get_customer(session, customer.id).name == "别人的"


def test_update_of_an_unknown_customer_is_not_found(db, make_user):
    admin = make_user("admin")
    with pytest.raises(NotFound) as caught, db() as session:
        update_customer(session, 999_999, {"name": "x"}, actor=admin)
    assert caught.value.code == "customer_not_found"


def test_only_those_who_may_see_the_number_change_it_and_a_refusal_changes_nothing(
    db, make_user, make_customer
):
    """An agent may edit a pool lead, not its phone numbers: a change of them refuses the whole
    update (``phone_change_forbidden``); the same numbers in another format are no change. The
    owner's manager may change them, and so may a process step (unscoped)."""
    admin = make_user("admin")
    agent = make_user("agent")
    pooled = make_customer(actor=admin, name="公海线索", phone="13800138000")
    for change in ({"phone": "13900139000"}, {"phones": []}, {"phone": None}, {"phone": "x"}):
        with pytest.raises(Forbidden) as caught, db() as session:
            update_customer(session, pooled.id, {"name": "改名", **change}, actor=agent)
        assert caught.value.code == "phone_change_forbidden"
        assert fields(caught.value) == {"phone" if "phone" in change else "phones"}
    with db() as session:
        stored = get_customer(session, pooled.id)
        assert (stored.name, stored.primary_phone) == ("公海线索", "+8613800138000")
        assert audit_entries(session, action="update") == []

    with db() as session:
        update_customer(
            session, pooled.id, {"name": "改名", "phones": ["138 0013 8000"]}, actor=agent
        )
    with db() as session:
        assert get_customer(session, pooled.id).name == "改名"

    manager = make_user("manager")  # team East, like the owner below
    theirs = make_customer(actor=make_user("agent"), phone="13700137000")
    with db() as session:
        update_customer(session, theirs.id, {"phone": "13600136000"}, actor=manager)
        update_customer(session, pooled.id, {"phone": "13500135000"}, actor=agent, scoped=False)
    with db() as session:
        assert get_customer(session, theirs.id).primary_phone == "+8613600136000"
        assert get_customer(session, pooled.id).primary_phone == "+8613500135000"


def test_concurrent_creates_with_one_phone_store_one_customer(runtime, db, make_user):
    """Two requests race with the same number: one wins, the other gets duplicate_customer."""
    agent = make_user("agent")
    outcome: dict[str, object] = {}

    def second_request() -> None:
        try:
            with db() as session:
                create_customer(session, {"name": "后来者", "phone": "13800138000"}, actor=agent)
            outcome["result"] = "created"
        except Exception as exc:
            outcome["result"] = exc

    with db() as session:
        create_customer(session, {"name": "先到者", "phone": "138 0013 8000"}, actor=agent)
        worker = threading.Thread(target=second_request)
        worker.start()
        _wait_until_blocked(runtime, worker)
    worker.join(timeout=20)
    assert not worker.is_alive()
    result = outcome["result"]
    with db() as session:
        assert count(session, Customer) == 1
    assert isinstance(result, DuplicateCustomer), repr(result)
    assert "先到者" in result.message


def _wait_until_blocked(runtime, worker: threading.Thread) -> None:
    """Let the second writer reach its INSERT (PostgreSQL) or its BEGIN (SQLite) and block."""
    deadline = time.monotonic() + 5
    if backend() != "postgresql":
        time.sleep(0.3)
        return
    probe = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query LIKE 'INSERT INTO customer_phones%'"
    )
    with runtime.db.engine.connect() as connection:
        while time.monotonic() < deadline and worker.is_alive():
            if connection.execute(probe).scalar():
                return
            connection.rollback()
            time.sleep(0.02)
    pytest.fail("the second writer never blocked on the first one's phone row")


# --- search ---------------------------------------------------------------------------------


@pytest.fixture
def directory(make_user, make_customer):
    agent = make_user("agent")
    make_customer(actor=agent, name="王小明", phone="138 0013 8000", email="xm.wang@example.com")
    make_customer(actor=agent, name="王大明", phone="13912345678", company="华信科技有限公司")
    make_customer(actor=agent, name="李雷", phone="13700001111", email="lilei@example.cn")
    make_customer(actor=agent, name="100%_纯", phone="13600012222")
    return agent


SEARCHES = {
    "王": {"王小明", "王大明"},
    "小明": {"王小明"},
    "华信": {"王大明"},
    "13800138000": {"王小明"},
    "138-0013-8000": {"王小明"},
    "+86 138 0013 8000": {"王小明"},
    "0086 138 0013 8000": {"王小明"},
    "8000": {"王小明"},
    "5678": {"王大明"},
    "0000": {"李雷"},
    "XM.Wang@Example.com": {"王小明"},
    "lilei@example.cn": {"李雷"},
    "%": {"100%_纯"},
    "_": {"100%_纯"},
    "赵": set(),
    "9999": set(),
    "": {"王小明", "王大明", "李雷", "100%_纯"},
}


def test_search_by_name_phone_in_any_format_partial_digits_and_email(db, directory, subtests):
    """One directory, every query: name substring, full phone, last digits, email, wildcards."""
    with db() as session:
        for q, expected in SEARCHES.items():
            with subtests.test(q=q):
                page = search_customers(session, viewer=directory, q=q)
                assert names(page) == expected
                assert page.total == len(expected)


def test_search_pages_with_limit_and_offset(db, directory):
    with db() as session:
        first = search_customers(session, viewer=directory, limit=3, offset=0)
        rest = search_customers(session, viewer=directory, limit=3, offset=3)
    assert first.total == rest.total == 4
    assert len(first.items) == 3
    assert len(rest.items) == 1
    assert names(first) | names(rest) == {"王小明", "王大明", "李雷", "100%_纯"}


def test_search_filters_by_stage_and_tag(db, make_user, make_customer):
    agent = make_user("agent")
    make_customer(actor=agent, name="意向", stage="interested", tags=["VIP"])
    make_customer(actor=agent, name="新的")
    with db() as session:
        assert names(search_customers(session, viewer=agent, stage="interested")) == {"意向"}
        assert names(search_customers(session, viewer=agent, tag="VIP")) == {"意向"}


# --- scoping --------------------------------------------------------------------------------


@pytest.fixture
def org(db, make_customer):
    """Two teams with managers and agents, plus roles that see everything; no passwords."""

    def user(username: str, role: str, team: str | None = None, manager: str | None = None):
        with db() as session:
            return create_user(session, username=username, role=role, team=team, manager=manager)

    people = {
        "admin": user("admin", "admin"),
        "director": user("director", "director"),
        "process_owner": user("owner", "process_owner"),
        "east_manager": user("east_boss", "manager", "East"),
        "west_manager": user("west_boss", "manager", "West"),
    }
    people["me"] = user("me", "agent", "East", "east_boss")
    people["mate"] = user("mate", "agent", "East", "east_boss")
    people["westie"] = user("westie", "agent", "West", "west_boss")
    make_customer(actor=people["me"], name="我的")
    make_customer(actor=people["mate"], name="同事的")
    make_customer(actor=people["westie"], name="西区的")
    make_customer(actor=people["admin"], name="公海的")
    return people


SCOPES = {
    "me": {"我的", "公海的"},
    "mate": {"同事的", "公海的"},
    "westie": {"西区的", "公海的"},
    "east_manager": {"我的", "同事的", "公海的"},
    "west_manager": {"西区的", "公海的"},
    "admin": {"我的", "同事的", "西区的", "公海的"},
    "director": {"我的", "同事的", "西区的", "公海的"},
    "process_owner": {"我的", "同事的", "西区的", "公海的"},
}


def test_each_role_sees_only_its_scope(db, org, subtests):
    """Agents: own + pool; managers: their team + pool; admin, director, process owner: all."""
    with db() as session:
        for who, visible in SCOPES.items():
            with subtests.test(who=who):
                page = search_customers(session, viewer=org[who])
                assert names(page) == visible
                assert page.total == len(visible)


def test_scope_applies_to_search_and_to_get(db, org):
    with db() as session:
        assert names(search_customers(session, viewer=org["me"], q="同事")) == set()
        theirs = search_customers(session, viewer=org["admin"], q="同事").items[0]
        with pytest.raises(NotFound):
            get_customer(session, theirs.id, viewer=org["me"])
        assert get_customer(session, theirs.id, viewer=org["east_manager"]).name == "同事的"
        with pytest.raises(NotFound):
            get_customer(session, theirs.id, viewer=org["west_manager"])


def test_an_inactive_user_sees_nothing(db, org):
    with db() as session:
        session.get(User, org["me"].id).active = False
    with db() as session:
        me = session.get(User, org["me"].id)
        assert search_customers(session, viewer=me).total == 0


# --- audit ----------------------------------------------------------------------------------


def test_create_writes_an_audit_entry(db, make_user):
    agent = make_user("agent")
    with db() as session:
        customer = create_customer(session, {"name": "审计", "phone": "13800138000"}, actor=agent)
        customer_id = customer.id
    with db() as session:
        [entry] = audit_entries(session, action="create")
        assert entry.actor_id == agent.id
        assert entry.entity_id == str(customer_id)
        assert entry.before is None
        assert entry.after["name"] == "审计"
        assert entry.after["phones"] == ["+8613800138000"]
        assert entry.at is not None


def test_update_audit_holds_only_the_changed_fields(db, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(actor=agent, name="旧", phone="13800138000", email="a@example.com")
    with db() as session:
        update_customer(session, customer.id, {"name": "新", "email": "a@example.com"}, actor=agent)
    with db() as session:
        [entry] = audit_entries(session, action="update")
        assert entry.actor_id == agent.id
        assert entry.entity_id == str(customer.id)
        # updated_at moves with every real change; every other key must be a changed field.
        assert set(entry.after) - {"updated_at"} == {"name"}
        assert set(entry.before) == set(entry.after)
        assert entry.before["name"] == "旧"
        assert entry.after["name"] == "新"


def test_update_that_changes_nothing_writes_no_audit_entry(db, make_user, make_customer):
    agent = make_user("agent")
    customer = make_customer(actor=agent, name="不变", email="same@example.com")
    with db() as session:
        update_customer(session, customer.id, {"name": "不变"}, actor=agent)
    with db() as session:
        assert audit_entries(session, action="update") == []


def test_refused_create_writes_no_audit_entry(db, make_user, make_customer):
    agent = make_user("agent")
    make_customer(actor=agent, phone="13800138000")
    with pytest.raises(DuplicateCustomer), db() as session:
        create_customer(session, {"name": "重复", "phone": "13800138000"}, actor=agent)
    with db() as session:
        assert len(audit_entries(session, action="create")) == 1


@pytest.fixture
def audited(db, make_user, make_customer):
    agent = make_user("agent")
    make_customer(actor=agent, name="审计对象")
    with db() as session:
        entries = audit_entries(session)
        assert entries
        return [(e.id, e.action) for e in entries]


def test_audit_entries_cannot_be_updated_through_the_orm(db, audited):
    with pytest.raises(PermissionError), db() as session:
        entry = session.get(AuditEntry, audited[0][0])
        entry.action = "tampered"
        session.flush()
    with db() as session:
        assert [(e.id, e.action) for e in audit_entries(session)] == audited


def test_audit_entries_cannot_be_deleted_through_the_orm(db, audited):
    with pytest.raises(PermissionError), db() as session:
        session.delete(session.get(AuditEntry, audited[0][0]))
        session.flush()
    with db() as session:
        assert [(e.id, e.action) for e in audit_entries(session)] == audited


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET action = 'tampered'", "DELETE FROM audit_log"],
    ids=["update", "delete"],
)
def test_audit_log_refuses_raw_sql_changes(runtime, db, audited, statement):
    with pytest.raises(DBAPIError) as caught, runtime.db.engine.begin() as connection:
        connection.execute(text(statement))
    assert "append-only" in str(caught.value)
    with db() as session:
        assert [(e.id, e.action) for e in audit_entries(session)] == audited
