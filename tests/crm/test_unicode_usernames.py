"""Chinese usernames (``张三``, ``李小龙``, pinyin with tones) through every door that takes one.

Chinese teams sign in with their Chinese or pinyin names. A name is read as people type it
(full-width letters and ``＿`` from an input method, decomposed tone marks); what could make
two people look alike in a list is refused (``crm.usernames``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from alembic import command
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select, text

from crm import audit, imports, jobs
from crm.models import Call, Customer, User
from crm.users import authenticate, create_token, create_user
from dialflow import schema
from dialflow.cli import main
from dialflow.clock import ManualClock
from dialflow.errors import Conflict, InvalidInput
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.conftest import PASSWORD, password_hash, sign_in
from tests.engine.conftest import T0, Actor, actor_factory
from tests.engine.test_assignment_attributes import CAMUNDA, java_engine
from tests.sheets import csv_bytes, xlsx_bytes
from tests.web.test_telephony import SECRET, send
from web import create_app


@pytest.fixture
def settings(test_env: dict[str, str]) -> Settings:
    return Settings.from_env({**test_env, "TELEPHONY_SECRET": SECRET})


def send_call(client: FlaskClient, event_id: str, agent: str) -> Any:
    event = {"event_id": event_id, "type": "call.started", "call_id": f"pbx-{event_id}"}
    return send(client, {**event, "number": "13800138000", "agent": agent})


@pytest.fixture
def actor(client: FlaskClient, db: Callable[..., Any]) -> Callable[..., Actor]:
    return actor_factory(client, db)


@pytest.fixture
def owner(actor: Callable[..., Actor]) -> Actor:
    return actor("process_owner", username="po", team=None)


def new_user(db: Callable[..., Any], username: str, role: str = "agent") -> User:
    with db() as session:
        return create_user(session, username=username, role=role, team="华东一组")


def refusal(db: Callable[..., Any], username: str) -> str:
    with pytest.raises(InvalidInput) as caught, db() as session:
        create_user(session, username=username, role="agent")
    (detail,) = caught.value.details
    assert detail["field"] == "username"
    return detail["message"]


# --- creating users ---------------------------------------------------------------------------


def test_chinese_pinyin_and_other_scripts_are_usernames(db):
    decomposed = unicodedata.normalize("NFD", "Zhāng.Sān")
    made = {
        "张三": "张三",
        "李小龙": "李小龙",
        decomposed: "Zhāng.Sān",  # a tone mark typed as a combining accent
        "ｚｈａｎｇ＿wei": "zhang_wei",  # full-width, as a Chinese input method leaves it on
        "迪丽热巴・迪力木拉提": "迪丽热巴·迪力木拉提",  # one middle dot, whichever was typed
        "王xiao明": "王xiao明",
        "佐々木": "佐々木",
        "김철수": "김철수",
        "Иван": "Иван",
        " 李娜 ": "李娜",
    }
    for typed, stored in made.items():
        assert new_user(db, typed).username == stored
    with db() as session:
        assert set(session.scalars(select(User.username))) == set(made.values())


def test_names_that_could_pass_for_another_are_refused(db, subtests):
    for typed, said in [
        ("张 三", "a space"),
        ("张\u3000三", "a space"),  # the ideographic space
        ("张\u200b三", "U+200B ZERO WIDTH SPACE"),
        ("张三\ufe00", "U+FE00 VARIATION SELECTOR-1"),
        ("\u3164\u3164", "HANGUL"),  # fillers that show nothing
        ("张三!", "U+0021 EXCLAMATION MARK (!)"),
        ("аdmin", "mixes Cyrillic, Latin"),  # a Cyrillic а
        ("za\u0301\u0300\u0302\u0303\u0304ng", "at most 3 marks"),
        ("\u0301ab", "cannot start with a combining mark"),
        ("张", "2–64 characters"),
        ("张" * 65, "2–64 characters"),
    ]:
        with subtests.test(typed=typed):
            assert said in refusal(db, typed)
    with db() as session:
        assert session.scalar(select(User.id)) is None


def test_a_name_that_looks_like_another_users_is_a_conflict(db, subtests):
    new_user(db, "zhang_wei")
    new_user(db, "王力宏")
    new_user(db, "cop")
    new_user(db, "李.娜")
    new_user(db, "admin")
    new_user(db, "日本")
    for typed, twin in [
        ("ｚｈａｎｇ＿ｗｅｉ", "zhang_wei"),  # the same name, full-width
        ("王カ宏", "王力宏"),  # katakana ka for Han li
        ("сор", "cop"),  # all Cyrillic
        ("李·娜", "李.娜"),
        ("ɑdmin", "admin"),  # Latin alpha
        ("ㄖ本", "日本"),  # Bopomofo r for Han ri
    ]:
        with subtests.test(typed=typed):
            with pytest.raises(Conflict) as caught, db() as session:
                create_user(session, username=typed, role="agent")
            assert caught.value.code == "duplicate_user"
            assert repr(twin) in caught.value.message
    # case stays as it was for ASCII names: another user, as before
    assert new_user(db, "Zhang_Wei").username == "Zhang_Wei"


def test_the_cli_creates_a_chinese_user_and_issues_their_token(test_env, runtime):
    env = {**test_env, "REDIS_URL": None, "LOG_LEVEL": None}
    env.setdefault("DATABASE_SCHEMA", None)

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    made = run("user", "create", "张三", "--role", "manager", "--team", "华东一组")
    assert made.exit_code == 0, made.output
    assert "created user 张三 (manager)" in made.output
    agent = run("user", "create", "李小龙", "--role", "agent", "--manager", "张三")
    assert agent.exit_code == 0, agent.output
    token = run("token", "create", "李小龙")
    assert token.exit_code == 0, token.output
    assert token.stdout.strip().splitlines()[-1].startswith("dft_")
    refused = run("user", "create", "张 三", "--role", "agent")
    assert refused.exit_code != 0 and "a space" in refused.stderr


# --- signing in -------------------------------------------------------------------------------


def test_a_chinese_user_signs_in_by_form_and_for_a_token(db, client):
    zhang = new_user(db, "张三")
    pinyin = new_user(db, "zhang_wei")
    with db() as session:
        for user in (zhang, pinyin):
            session.get(User, user.id).password_hash = password_hash(PASSWORD)
    assert sign_in(client, "张三").status_code == 302
    assert "张三" in client.get("/account").text
    answer = client.post(
        "/api/v1/auth/token", json={"username": "ｚｈａｎｇ＿ｗｅｉ", "password": PASSWORD}
    )
    assert answer.status_code == 201, answer.get_json()
    with db() as session:
        assert authenticate(session, unicodedata.normalize("NFD", "张三"), PASSWORD)


def test_width_variants_of_a_name_share_its_failed_sign_in_count(db, client):
    new_user(db, "zhang_wei")
    for typed in ["zhang_wei", "ｚhang_wei", "zｈang_wei", "zhａng_wei", "zhaｎg_wei"]:
        answer = client.post("/api/v1/auth/token", json={"username": typed, "password": "nope"})
        assert answer.status_code == 401
    answer = client.post("/api/v1/auth/token", json={"username": "zhanｇ_wei", "password": "x"})
    assert answer.status_code == 429


# --- tasks ------------------------------------------------------------------------------------


def deploy(actor: Actor, name: str, text: str) -> Any:
    return actor.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(text.encode()), name)]},
        content_type="multipart/form-data",
    )


def test_assignment_attributes_name_chinese_users(owner, actor):
    zhang = actor("agent", username="张三", team="华东一组")
    li = actor("agent", username="李四", team="华东一组")
    text = java_engine(
        "camunda",
        CAMUNDA,
        "cn_names",
        [
            ("Task_Call", "销售", 'camunda:assignee="张三"'),
            ("Task_Check", "销售", 'camunda:candidateUsers="张三,李四"'),
            ("Task_Own", "销售", 'camunda:assignee="${initiator}"'),
        ],
    ).replace('camunda:initiator="starter"', 'camunda:initiator="initiator"')
    answer = deploy(owner, "names.bpmn", text)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json().get("warnings", []) == []
    (call,) = li.start("cn_names")["ready_tasks"]
    assert (call["assignee"], call["candidates"]) == (zhang.user.id, ["user:张三"])
    assert [t["id"] for t in zhang.tasks("mine=1")] == [call["id"]]
    (check,) = zhang.complete_ok(call["id"])["ready_tasks"]
    assert check["candidates"] == ["user:张三", "user:李四"]
    assert li.post(f"/api/v1/tasks/{check['id']}/claim").status_code == 200
    (own,) = li.complete_ok(check["id"])["ready_tasks"]
    assert own["assignee"] == li.user.id  # the starter, 李四


def test_lane_owners_and_assign_by_chinese_name(owner, actor):
    zhang = actor("agent", username="张三", team="华东一组")
    li = actor("agent", username="李四", team="华东一组")
    boss = actor("manager", username="王经理", team="华东一组")
    text = java_engine("camunda", CAMUNDA, "cn_lanes", [("Task_Call", "销售", "")])
    assert deploy(owner, "lanes.bpmn", text).status_code == 201
    started = owner.start("cn_lanes", {"lane_owners": {"销售": ["张三", "赵六"]}})
    (call,) = started["ready_tasks"]
    assert call["candidates"] == ["user:张三", "user:赵六"]
    assert [t["id"] for t in zhang.tasks("candidate=1")] == [call["id"]]
    answer = boss.post(f"/api/v1/tasks/{call['id']}/assign", json={"user": "李四"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["assignee"] == li.user.id


def owned(tag: str, expression: str) -> str:
    return (
        f"<bpmn:{tag}><bpmn:resourceAssignmentExpression><bpmn:formalExpression>"
        f"{expression}</bpmn:formalExpression></bpmn:resourceAssignmentExpression></bpmn:{tag}>"
    )


def test_chinese_lists_of_candidates_are_split_at_their_commas(owner, actor):
    """``张三，李四`` (a full-width comma) and ``张三、李四`` were one name nobody had: the
    deploy warned of it and the task was offered to no one."""
    actor("agent", username="张三", team="华东一组")
    li = actor("agent", username="李四", team="华东一组")
    text = java_engine(
        "camunda",
        CAMUNDA,
        "cn_lists",
        [
            ("Task_A", "销售", 'camunda:candidateUsers="张三，李四"'),
            ("Task_B", "销售", 'camunda:candidateUsers="张三、 李四"'),
            ("Task_C", "销售", ""),
            ("Task_D", "销售", 'camunda:assignee="${reps}"'),
        ],
    ).replace(
        'name="Task_C" />',
        f'name="Task_C">{owned("potentialOwner", "user(张三)，user(李四)")}</bpmn:userTask>',
    )
    answer = deploy(owner, "lists.bpmn", text)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json().get("warnings", []) == []
    task = owner.start("cn_lists", {"reps": "张三，李四"})["ready_tasks"][0]
    for name in ["Task_A", "Task_B", "Task_C", "Task_D"]:
        assert (task["name"], task["assignee"], task["candidates"]) == (
            name,
            None,
            ["user:张三", "user:李四"],
        )
        assert li.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
        task = (li.complete_ok(task["id"])["ready_tasks"] or [None])[0]
    assert task is None


def test_a_group_named_with_a_chinese_comma_stays_one_group(owner, actor):
    """Only lists of people are split at ``，`` and ``、`` (no username holds them): the team
    华东、华南 was read as two groups no one is in, and its task offered to no one."""
    agent = actor("agent", username="张三", team="华东、华南")
    text = java_engine(
        "camunda",
        CAMUNDA,
        "cn_team",
        [("Task_A", "销售", 'camunda:candidateGroups="华东、华南"')],
    )
    answer = deploy(owner, "team.bpmn", text)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json().get("warnings", []) == []
    (task,) = owner.start("cn_team", {"reps": "华东、华南"})["ready_tasks"]
    assert task["candidates"] == ["group:华东、华南"]
    assert [t["id"] for t in agent.tasks("candidate=1")] == [task["id"]]
    li = actor("agent", username="李四", team="华北")
    owners = owned("potentialOwner", "user(李四)，group(华东、华南)")
    text = java_engine("camunda", CAMUNDA, "cn_owners", [("Task_B", "销售", "")]).replace(
        'name="Task_B" />', f'name="Task_B">{owners}</bpmn:userTask>'
    )
    answer = deploy(owner, "owners.bpmn", text)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json().get("warnings", []) == []
    (task,) = owner.start("cn_owners")["ready_tasks"]
    assert sorted(task["candidates"]) == ["group:华东、华南", "user:李四"]
    assert [t["id"] for t in li.tasks("candidate=1")] == [task["id"]]


def test_names_typed_decomposed_or_full_width_reach_their_user(owner, actor):
    """A name written with a combining tone mark, full-width letters or spaces around it in a
    diagram, in ``lane_owners`` or when assigning is the user's name as stored."""
    zhang = actor("agent", username="Zhāng", team="华东一组")
    wei = actor("agent", username="zhang_wei", team="华东一组")
    li = actor("agent", username="李四", team="华东一组")
    boss = actor("manager", username="王经理", team="华东一组")
    decomposed = unicodedata.normalize("NFD", "Zhāng")
    text = java_engine(
        "camunda",
        CAMUNDA,
        "cn_typed",
        [
            ("Task_A", "销售", f'camunda:assignee="{decomposed}"'),
            ("Task_B", "销售", 'camunda:candidateUsers="ｚｈａｎｇ＿ｗｅｉ, 李四"'),
            ("Task_C", "owners", ""),
        ],
    )
    answer = deploy(owner, "typed.bpmn", text)
    assert answer.status_code == 201, answer.get_json()
    # only the lane's: "owners" is no team (lane_owners name them); both users are known
    assert [w["element_id"] for w in answer.get_json()["warnings"]] == ["Lane_1"]
    data = {"lane_owners": {"owners": [decomposed, " 李四 "]}}
    (a,) = owner.start("cn_typed", data)["ready_tasks"]
    assert (a["assignee"], a["candidates"]) == (zhang.user.id, ["user:Zhāng"])
    (b,) = zhang.complete_ok(a["id"])["ready_tasks"]
    assert b["candidates"] == ["user:zhang_wei", "user:李四"]
    assert [t["id"] for t in wei.tasks("candidate=1")] == [b["id"]]
    (c,) = wei.complete_ok(b["id"])["ready_tasks"]
    assert c["candidates"] == ["user:Zhāng", "user:李四"]
    assert [t["id"] for t in zhang.tasks("candidate=1")] == [c["id"]]
    for typed, user in [(decomposed, zhang), ("李四 ", li)]:
        answer = boss.post(f"/api/v1/tasks/{c['id']}/assign", json={"user": typed})
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["assignee"] == user.user.id


# --- customers --------------------------------------------------------------------------------


def test_a_customers_owner_is_named_as_typed(db, runtime, actor):
    """In the API and in an imported sheet: a spreadsheet cell keeps the space typed after a
    name, an input method's full-width letters, a tone typed as a combining accent."""
    boss = actor("manager", username="王经理", team="华东一组")
    zhang = actor("agent", username="Zhāng", team="华东一组")
    li = actor("agent", username="李四", team="华东一组")
    pinyin = actor("agent", username="li", team="华东一组")
    decomposed = unicodedata.normalize("NFD", "Zhāng")
    for phone, typed, user in [("13800138000", decomposed, zhang), ("13800138001", "李四 ", li)]:
        body = {"name": "客户", "phone": phone, "owner": typed}
        answer = boss.post("/api/v1/customers", json=body)
        assert answer.status_code == 201, answer.get_json()
        assert answer.get_json()["owner_id"] == user.user.id
    rows = [
        ["姓名", "手机", "负责人"],
        ["甲", "13900139000", "李四 "],
        ["乙", "13900139001", "ｌｉ"],
    ]
    for data, name, first in [
        (csv_bytes(rows, "gbk"), "客户.csv", "13"),
        (xlsx_bytes(rows), "客户.xlsx", "15"),
    ]:
        sheet = [rows[0]] + [[n, first + p[2:], o] for n, p, o in rows[1:]]
        data = csv_bytes(sheet, "gbk") if name.endswith(".csv") else xlsx_bytes(sheet)
        with db() as session:
            job = imports.submit_import(
                session,
                actor=session.get(User, boss.user.id),
                file_name=name,
                data=data,
                mapping=None,
                max_rows=100,
            )
        assert imports.run_import(runtime.db, job.id) == "done"
        with db() as session:
            assert jobs.problem_rows(session, job.id, limit=10)[1] == 0
    with db() as session:
        owners = sorted((c.name, c.owner_id) for c in session.scalars(select(Customer)))
    ids = (li.user.id, pinyin.user.id)
    assert owners == sorted(
        [("客户", zhang.user.id), ("客户", li.user.id), *[("甲", ids[0]), ("乙", ids[1])] * 2]
    )


def test_a_pbx_names_the_agent_of_a_call_in_chinese(client, db, make_customer):
    """The PBX's ``agent`` is a username; an extension configured with ``张三 `` is 张三."""
    zhang = new_user(db, "张三")
    make_customer(actor=zhang, phone="13800138000")
    for event_id, typed in [("e1", "张三"), ("e2", "张三 ")]:
        answer = send_call(client, event_id, typed)
        assert answer.status_code == 200, answer.get_json()
        with db() as session:
            assert session.get(Call, answer.get_json()["call_id"]).agent_id == zhang.id


# --- the shipped telesales processes ------------------------------------------------------------


def test_a_lead_reaches_a_chinese_agent_through_the_shipped_processes(runtime, settings):
    """Routing, the daily caps, the call cadence and its quote approval name agents by
    username: a team of 张三 and 李小龙 works its leads as a team of a1 and a2 does."""
    clocked = Runtime.build(settings, clock=ManualClock(T0))
    try:
        clocked.deploy_shipped_models()
        app = create_app({"TESTING": True}, runtime=clocked)
        make = actor_factory(app.test_client(), clocked.db.unit_of_work)
        boss = make("director", username="总监", team=None)
        make("manager", username="王经理", team="华东一组", manager="总监")
        zhang = make("agent", username="张三", team="华东一组", manager="王经理")
        li = make("agent", username="李小龙", team="华东一组", manager="王经理")
        owners = []
        for phone in ("13800138000", "13800138001"):
            body = {"name": "王小明", "phone": phone, "region": "上海", "source": "网络推广"}
            answer = boss.post("/api/v1/leads", json=body)
            assert answer.status_code == 201, answer.get_json()
            owners.append(answer.get_json()["owner"])
            customer_id = answer.get_json()["customer_id"]
        assert owners == ["张三", "李小龙"]
        (call,) = li.tasks(f"mine=1&business_key={customer_id}")
        assert call["name"] == "call"
        assert zhang.tasks(f"mine=1&business_key={customer_id}") == []
    finally:
        clocked.close()


# --- the migration ------------------------------------------------------------------------------


def test_revision_0019_keeps_what_refers_to_the_users(runtime):
    """On SQLite the revision rebuilt ``users``; with foreign keys on, dropping the old table
    deleted every API token and cleared every manager, or failed on the audit log's entries."""
    engine = runtime.db.engine
    config = schema.alembic_config()

    def migrate(step: Callable[..., None], revision: str) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)

    def held() -> list[Any]:
        with engine.connect() as connection:
            return [
                connection.execute(text(sql)).all()
                for sql in (
                    "SELECT id, username, manager_id, team_id FROM users ORDER BY id",
                    "SELECT user_id, name FROM api_tokens",
                    "SELECT actor_id, action FROM audit_log WHERE actor_id IS NOT NULL",
                )
            ]

    with runtime.db.unit_of_work() as session:
        boss = create_user(session, username="boss", role="manager", team="t1")
        agent = create_user(session, username="wang", role="agent", team="t1", manager="boss")
        session.flush()
        create_token(session, agent, name="pbx")
        audit.record(session, actor=boss, action="probe", entity_type="user", entity_id="2")
    before = held()
    assert all(before), before
    try:
        migrate(command.downgrade, "0018")
        assert held() == before
        migrate(command.upgrade, "0019")
        assert held() == before
    finally:
        schema.upgrade(engine, schema=runtime.settings.database_schema)
    with runtime.db.unit_of_work() as session:
        assert session.get(User, agent.id).username_key == "wang"
