"""Customer import and export in the domain: reading files, mapping, preview, runs, resume."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm import imports, jobs
from crm.exports import export_customers
from crm.imports import guess_mapping, open_upload, parse_mapping, preview, run_import
from crm.models import AuditEntry, Customer, Job, JobStatus, User
from crm.spreadsheets import FileTooLarge, UnsupportedFile, decode_text, read_sheet
from dialflow.db import utcnow
from dialflow.errors import Forbidden, InvalidInput
from tests.conftest import count
from tests.sheets import HEADERS_ZH, csv_bytes, xlsx_bytes

GOOD = [
    "张三",
    "138 0013 8000",
    "zhangsan@example.com",
    "甲公司",
    "上海",
    "展会",
    "VIP,老客户",
    "好",
]


@pytest.fixture
def manager(make_user):
    return make_user("manager", username="wangjingli")


def submit(db, actor, data: bytes, name: str = "客户.csv", mapping=None, max_rows=1000) -> int:
    with db() as session:
        job = imports.submit_import(
            session, actor=actor, file_name=name, data=data, mapping=mapping, max_rows=max_rows
        )
        return job.id


def job_state(db, job_id: int) -> tuple[Job, list[dict]]:
    with db() as session:
        job = session.get(Job, job_id)
        rows, _total = jobs.problem_rows(session, job_id, limit=500)
        return job, [jobs.row_to_dict(r) for r in rows]


# --- reading files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("utf-16", "utf-16")],
)
def test_csv_encodings_are_detected(encoding, expected):
    text = "姓名,手机\n张三,13800138000\n欧阳·娜娜,13900139000\n"
    decoded, found = decode_text(text.encode(encoding))
    assert found == expected
    assert decoded.lstrip("\ufeff") == text


def test_gbk_file_with_chinese_headers_is_read_and_mapped():
    data = csv_bytes([HEADERS_ZH, GOOD], encoding="gbk")
    sheet = open_upload("客户.csv", data)
    assert sheet.headers == HEADERS_ZH
    assert sheet.encoding == "gb18030"
    assert [cells for _n, cells in sheet.rows()] == [GOOD]
    assert guess_mapping(sheet.headers) == {
        "姓名": "name",
        "手机": "phone",
        "邮箱": "email",
        "公司": "company",
        "地区": "region",
        "来源": "source",
        "标签": "tags",
        "备注": "notes",
    }


def test_english_and_variant_headers_are_guessed():
    headers = ["Full Name", "Mobile Phone", "E-mail", "Company Name", "Tel (office)", "Remarks"]
    assert guess_mapping(headers) == {
        "Full Name": "name",
        "Mobile Phone": "phone",
        "E-mail": "email",
        "Company Name": "company",
        "Tel (office)": "phone",
        "Remarks": "notes",
    }
    assert guess_mapping(["客户名称", "联系电话", "手机号码2", "Whatever"])["Whatever"] is None


@pytest.mark.parametrize(
    "data",
    [
        "Name,Company\nJosé,Café Müller\nFrançois,Société Générale\n".encode("latin-1"),
        "名前,会社\n山田太郎,株式会社テスト\n".encode("shift_jis"),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    ],
    ids=["latin-1", "shift-jis", "binary"],
)
def test_undetectable_encodings_are_refused_not_stored_as_mojibake(data):
    with pytest.raises(InvalidInput) as caught:
        read_sheet("list.csv", data)
    assert caught.value.code == "unknown_encoding"
    assert "UTF-8" in caught.value.message


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100),
        ("report.pdf", b"%PDF-1.4 something"),
        ("broken.xlsx", b"name,phone\n"),
    ],
)
def test_wrong_file_types_are_refused(name, data):
    with pytest.raises(UnsupportedFile) as caught:
        read_sheet(name, data)
    assert caught.value.status == 415


def test_files_over_the_limit_are_refused():
    with pytest.raises(FileTooLarge) as caught:
        open_upload("big.csv", b"x" * 101, max_bytes=100)
    assert caught.value.status == 413
    assert caught.value.code == "file_too_large"


def test_xlsx_numbers_and_duplicate_headers_become_text():
    data = xlsx_bytes([["姓名", "电话", "电话"], ["张三", 13800138000, 13900139000.0], [None]])
    sheet = open_upload("客户.xlsx", data)
    assert sheet.file_format == "xlsx"
    assert sheet.headers == ["姓名", "电话", "电话 (2)"]
    assert [c for _n, c in sheet.rows()] == [["张三", "13800138000", "13900139000"]]
    assert parse_mapping(sheet.headers, None) == {
        "姓名": "name",
        "电话": "phone",
        "电话 (2)": "phone",
    }


def test_mapping_is_checked():
    headers = ["姓名", "手机", "备注"]
    with pytest.raises(InvalidInput) as caught:
        parse_mapping(headers, {"姓名": "notes", "备注": "notes", "手机": "phone", "x": "name"})
    assert caught.value.code == "invalid_mapping"
    with pytest.raises(InvalidInput) as caught:
        parse_mapping(headers, '{"姓名": "notes", "手机": "phone", "备注": "notes"}')
    assert {d["field"] for d in caught.value.details} == {"notes", "name"}
    with pytest.raises(InvalidInput):
        parse_mapping(headers, "not json")
    with pytest.raises(InvalidInput):
        parse_mapping(headers, {"姓名": "salary"})


# --- preview --------------------------------------------------------------------------------


def test_preview_reports_errors_and_duplicates_in_the_database_and_in_the_file(db, make_customer):
    existing = make_customer(name="老客户", phone="13700137000")
    same_name = make_customer(name="李四", email="lisi@example.com")
    rows = [
        HEADERS_ZH,
        GOOD,
        ["王五", "137-0013-7000", "", "", "", "", "", ""],  # phone of an existing customer
        ["张三丰", "+86 138 0013 8000", "", "", "", "", "", ""],  # phone of row 2
        ["李四", "13600136000", "", "", "", "", "", ""],  # same name, new phone
        ["", "13500135000", "", "", "", "", "", ""],  # no name
        ["赵六", "12345", "", "", "", "", "", ""],  # bad phone
    ]
    sheet = open_upload("a.csv", csv_bytes(rows))
    with db() as session:
        result = preview(session, sheet, parse_mapping(sheet.headers, None))
    assert result["report"] == {
        "scanned": 6,
        "new": 2,
        "errors": 2,
        "same_name": 1,
        "duplicates_existing": 1,
        "duplicates_in_file": 1,
    }
    by_row = {r["row"]: r for r in result["rows"]}
    assert by_row[2]["status"] == "new"
    assert by_row[2]["values"]["phone"] == "+8613800138000"
    assert by_row[3]["problems"][0]["existing_id"] == existing.id
    assert by_row[4]["problems"][0]["same_as_row"] == 2
    assert by_row[5]["status"] == "same_name"
    assert by_row[5]["problems"][0]["existing_id"] == same_name.id
    assert by_row[6]["problems"][0]["field"] == "name"
    assert by_row[7]["problems"][0]["field"] == "phone"
    with db() as session:
        assert count(session, Customer) == 2  # a preview writes nothing


# --- running --------------------------------------------------------------------------------


def test_run_creates_good_rows_and_reports_every_other_row(db, runtime, manager, make_customer):
    existing = make_customer(name="老客户", phone="13700137000")
    rows = [
        HEADERS_ZH,
        GOOD,
        ["李四", "13900139000", "", "", "", "", "", ""],
        ["", "13500135000", "", "", "", "", "", ""],  # missing name
        ["赵六", "12345", "", "", "", "", "", ""],  # bad phone
        ["孙七", "13600136000", "", "公" * 201, "", "", "", ""],  # company too long
        ["周八", "", "", "", "", "", "", ""],  # neither phone nor email
        ["王五", "137 0013 7000", "", "", "", "", "", ""],  # duplicate of an existing customer
        ["张三丰", "13800138000", "", "", "", "", "", ""],  # duplicate of row 2
        ["吴九", "13300133000", "wu@example.com", "", "", "", "", "", "extra"],  # extra cell
        ["郑十", "13200132000;13100131000", "ZHENG@example.com", "", "", "", "", ""],
    ]
    job_id = submit(db, manager, csv_bytes(rows, "gbk"))
    assert run_import(runtime.db, job_id, batch_rows=3) == "done"
    job, problems = job_state(db, job_id)
    assert job.status == JobStatus.DONE
    assert (job.rows_total, job.rows_processed) == (10, 10)
    assert (job.rows_created, job.rows_duplicate, job.rows_error) == (3, 2, 5)
    assert job.progress == 1.0
    assert [(p["row"], p["outcome"], p["field"]) for p in problems] == [
        (4, "error", "name"),
        (5, "error", "phone"),
        (6, "error", "company"),
        (7, "error", "phone"),
        (8, "duplicate", "phone"),
        (9, "duplicate", "phone"),
        (10, "error", None),
    ]
    assert problems[4]["existing_customer_id"] == existing.id
    assert "row 2 of this file" in problems[5]["message"]
    with db() as session:
        created = {c.name: c for c in session.scalars(select(Customer))}
        assert set(created) == {"老客户", "张三", "李四", "郑十"}
        zhang = created["张三"]
        assert [p.e164 for p in zhang.phones] == ["+8613800138000"]
        assert (zhang.email, zhang.company, zhang.region, zhang.source) == (
            "zhangsan@example.com",
            "甲公司",
            "上海",
            "展会",
        )
        assert zhang.tags == ["VIP", "老客户"] and zhang.notes == "好"
        assert zhang.created_by_id == manager.id
        assert [p.e164 for p in created["郑十"].phones] == ["+8613200132000", "+8613100131000"]
        assert created["郑十"].email == "zheng@example.com"
        assert problems[5]["existing_customer_id"] == zhang.id
        done = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).one()
        assert done.after["created"] == 3 and done.entity_id == str(job_id)


def test_errors_csv_has_a_bom_and_the_original_cells(db, runtime, manager):
    rows = [["姓名", "手机", "备注"], ["", "13500135000", "=HYPERLINK(1)"], ["好人", "138"]]
    job_id = submit(db, manager, csv_bytes(rows))
    run_import(runtime.db, job_id)
    with db() as session:
        content = jobs.problems_csv(session, session.get(Job, job_id))
    assert content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert lines[0][:6] == ["row", "outcome", "field", "column", "message", "existing_customer_id"]
    assert lines[0][6:] == ["姓名", "手机", "备注"]
    assert lines[1][:4] == ["2", "error", "name", "姓名"]
    assert lines[1][6:] == ["", "13500135000", "'=HYPERLINK(1)"]  # no formula for Excel
    assert lines[2][:4] == ["3", "error", "phone", "手机"]


def test_xlsx_import_runs(db, runtime, manager):
    data = xlsx_bytes([["Name", "Phone", "Email"], ["Alice", 13800138000, "a@example.com"]])
    job_id = submit(db, manager, data, name="list.xlsx")
    assert run_import(runtime.db, job_id) == "done"
    with db() as session:
        alice = session.scalars(select(Customer)).one()
        assert [p.e164 for p in alice.phones] == ["+8613800138000"]


def test_agents_may_not_import(db, make_user):
    agent = make_user("agent")
    with pytest.raises(Forbidden):
        submit(db, agent, csv_bytes([["姓名", "手机"], ["张三", "13800138000"]]))


def test_too_many_rows_and_empty_files_are_refused(db, manager):
    rows = [["姓名", "手机"]] + [[f"客户{i}", f"1380013{i:04d}"] for i in range(6)]
    with pytest.raises(InvalidInput) as caught:
        submit(db, manager, csv_bytes(rows), max_rows=5)
    assert caught.value.code == "too_many_rows"
    with pytest.raises(InvalidInput) as caught:
        submit(db, manager, csv_bytes([["姓名", "手机"]]))
    assert caught.value.code == "empty_file"
    with db() as session:
        assert count(session, Job) == 0


def test_a_run_that_dies_resumes_after_its_last_committed_batch(db, runtime, manager, monkeypatch):
    rows = [["姓名", "手机"]] + [[f"客户{i}", f"1380013{i:04d}"] for i in range(10)]
    job_id = submit(db, manager, csv_bytes(rows))
    real_batch = imports._Run.batch

    def dies_at_row_8(self, session, job, actor, rows):
        real_batch(self, session, job, actor, rows)
        if any(row.number == 8 for row in rows):
            raise RuntimeError("worker killed")

    monkeypatch.setattr(imports._Run, "batch", dies_at_row_8)
    with pytest.raises(RuntimeError):
        run_import(runtime.db, job_id, batch_rows=3)
    job, _ = job_state(db, job_id)
    assert (job.status, job.rows_processed, job.rows_created) == (JobStatus.RUNNING, 6, 6)
    with db() as session:
        assert count(session, Customer) == 6
        assert jobs.stale_jobs(session, utcnow()) == []  # its lease still runs
        later = utcnow() + jobs.LEASE + timedelta(seconds=1)
        assert jobs.stale_jobs(session, later) == [job_id]
    monkeypatch.setattr(imports._Run, "batch", real_batch)
    # while the lease runs nobody else may take the job
    assert run_import(runtime.db, job_id) == "running"
    later = utcnow() + jobs.LEASE + timedelta(seconds=1)
    assert run_import(runtime.db, job_id, now=lambda: later) == "done"
    job, problems = job_state(db, job_id)
    assert (job.rows_processed, job.rows_created, job.rows_duplicate) == (10, 10, 0)
    assert job.attempts == 2 and problems == []


def test_a_number_taken_between_the_check_and_the_insert_is_a_duplicate(
    db, runtime, manager, make_customer, monkeypatch
):
    """The batch's duplicate check misses a customer created concurrently (simulated by
    hiding it); the unique index refuses the insert and the batch is redone row by row."""
    rows = [["姓名", "手机"], ["新客户", "13900139000"], ["抢先", "13800138000"]]
    job_id = submit(db, manager, csv_bytes(rows))
    taken = make_customer(name="别人先建", phone="13800138000")
    monkeypatch.setattr(imports, "_existing_matches", lambda *_a, **_k: {})
    assert run_import(runtime.db, job_id) == "done"
    job, problems = job_state(db, job_id)
    assert (job.rows_created, job.rows_duplicate, job.rows_error) == (1, 1, 0)
    assert [(p["row"], p["outcome"], p["existing_customer_id"]) for p in problems] == [
        (3, "duplicate", taken.id)
    ]
    with db() as session:
        assert count(session, Customer) == 2


def test_a_job_that_keeps_dying_fails_after_the_attempts(db, runtime, manager):
    job_id = submit(db, manager, csv_bytes([["姓名", "手机"], ["张三", "13800138000"]]))
    now = utcnow()
    for attempt in range(jobs.MAX_ATTEMPTS):
        with db() as session:
            later = now + attempt * (jobs.LEASE + timedelta(seconds=1))
            assert jobs.claim(session, job_id, jobs.new_runner(), later) is not None
    last = now + jobs.MAX_ATTEMPTS * (jobs.LEASE + timedelta(seconds=1))
    assert run_import(runtime.db, job_id, now=lambda: last) == "failed"
    job, _ = job_state(db, job_id)
    assert job.status == JobStatus.FAILED and "attempts" in job.message
    with db() as session:
        assert count(session, Customer) == 0


# --- export ---------------------------------------------------------------------------------


def test_export_is_scoped_audited_and_refused_to_agents(db, make_user, make_customer):
    manager = make_user("manager", team="East")
    east = make_user("agent", team="East")
    west = make_user("agent", team="West")
    make_customer(actor=east, name="东区客户", phone="13800138000")
    make_customer(actor=west, name="西区客户", phone="13900139000")
    make_customer(actor=east, name="=cmd|' /C calc'!A0", phone="13700137000")
    with db() as session:
        with pytest.raises(Forbidden):
            export_customers(session, viewer=session.get(User, east.id))
        result = export_customers(
            session, viewer=session.get(User, manager.id), filters={"q": None}
        )
    assert result.rows == 2
    lines = list(csv.reader(io.StringIO(result.content.decode("utf-8-sig"))))
    assert result.content.startswith(b"\xef\xbb\xbf")
    names = {line[1] for line in lines[1:]}
    assert names == {"东区客户", "'=cmd|' /C calc'!A0"}
    assert {line[2] for line in lines[1:]} == {"+8613800138000", "+8613700137000"}
    with db() as session:
        result = export_customers(
            session, viewer=session.get(User, manager.id), file_format="xlsx", filters={"q": "东区"}
        )
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
    sheet = load_workbook(io.BytesIO(result.content), read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][1] == "东区客户" and len(values) == 2
    assert [(e.after["rows"], e.after["format"], e.after["filters"]) for e in entries] == [
        (2, "csv", {}),
        (1, "xlsx", {"q": "东区"}),
    ]
    assert {e.actor_id for e in entries} == {manager.id}


def test_the_sweeper_dispatches_jobs_nobody_works_on(db, runtime, manager):
    from dialflow.background import JobSweeper

    lost = submit(db, manager, csv_bytes([["姓名", "手机"], ["张三", "13800138000"]]))
    fresh = submit(db, manager, csv_bytes([["姓名", "手机"], ["李四", "13900139000"]]))
    with db() as session:
        session.get(Job, lost).created_at = utcnow() - jobs.QUEUED_GRACE * 2
    dispatched: list[int] = []
    assert JobSweeper(runtime, dispatch=dispatched.append).run_once() == [lost]
    assert dispatched == [lost]  # the fresh one is still being dispatched by its submit
    assert run_import(runtime.db, lost) == "done"
    assert JobSweeper(runtime, dispatch=dispatched.append).run_once() == []
    assert fresh not in dispatched


def test_an_import_whose_batches_find_the_database_busy_is_not_failed_for_it(
    db, runtime, manager, test_env
):
    """Another transaction (a backup, a long report) holds what the import's batches write
    past the lock wait, run after run of the worker. Each such run changes nothing and is
    not counted against the job's attempts: once the database is free the import runs to
    the end. Before, the busy runs used up ``MAX_ATTEMPTS`` and the job failed with "Stopped
    after 3 attempts", its rows never imported."""
    import sqlite3

    from sqlalchemy.engine import make_url

    from dialflow.db import lock_failure
    from dialflow.runtime import Runtime
    from dialflow.settings import Settings
    from tests.conftest import PG_URL
    from tests.engine.test_crash_review import pg_connection

    rows = [["姓名", "手机"]] + [[f"客户{i}", f"1380013{i:04d}"] for i in range(4)]
    job_id = submit(db, manager, csv_bytes(rows))
    busy = Runtime.build(Settings.from_env({**test_env, "DIALFLOW_LOCK_WAIT_SECONDS": "1"}))
    clock = [utcnow()]
    if PG_URL:
        holder = pg_connection(test_env)
        hold = "LOCK TABLE customers IN EXCLUSIVE MODE"
    else:
        holder = sqlite3.connect(make_url(test_env["DATABASE_URL"]).database, isolation_level=None)
        hold = "BEGIN IMMEDIATE"
    try:
        holder.execute(hold)
        for _ in range(jobs.MAX_ATTEMPTS + 1):
            clock[0] += jobs.LEASE + timedelta(seconds=1)  # the sweeper hands it out again
            with pytest.raises(Exception) as raised:
                run_import(busy.db, job_id, now=lambda: clock[0])
            assert lock_failure(raised.value)
    finally:
        holder.rollback() if PG_URL else holder.execute("ROLLBACK")
        holder.close()
    try:
        clock[0] += jobs.LEASE + timedelta(seconds=1)
        assert run_import(busy.db, job_id, now=lambda: clock[0]) == "done"
    finally:
        busy.close()
    job, problems = job_state(db, job_id)
    assert (job.rows_processed, job.rows_created, job.attempts) == (4, 4, 1)
    assert problems == []
