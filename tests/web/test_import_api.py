"""`/api/v1/customers/import`, `/api/v1/jobs/{id}` and `/api/v1/customers/export` over HTTP."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import threading

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.imports import run_import, submit_import
from crm.models import AuditEntry, Customer, Job, User
from dialflow.runtime import Runtime
from tests.conftest import PASSWORD, api_token, count
from tests.sheets import HEADERS_ZH, csv_bytes, damaged_xlsx, wait_until, xlsx_bytes
from tests.web.crm_api_helpers import bearer
from tests.web.test_api_customers import assert_error
from web import create_app

IMPORT = "/api/v1/customers/import"
GOOD = ["张三", "13800138000", "zs@example.com", "甲公司", "上海", "展会", "VIP", "备注"]


@pytest.fixture
def manager_auth(client, make_user):
    make_user("manager", username="manager1", password=PASSWORD)
    return api_token(client, "manager1")


@pytest.fixture
def agent_auth(client, make_user):
    make_user("agent", username="agent1", password=PASSWORD)
    return api_token(client, "agent1")


def upload(client, auth, data: bytes, name: str = "客户.csv", query: str = "", **form):
    return client.post(
        IMPORT + query,
        data={"file": (io.BytesIO(data), name), **form},
        headers=auth,
        content_type="multipart/form-data",
    )


def finished(client, auth, job_id: int) -> dict:
    return wait_until(lambda: client.get(f"/api/v1/jobs/{job_id}", headers=auth).get_json())


def test_import_runs_as_a_job_with_counts_and_paged_errors(client, db, manager_auth):
    rows = [HEADERS_ZH, GOOD]
    rows += [[f"客户{i}", f"1390013{i:04d}", "", "", "", "", "", ""] for i in range(30)]
    rows += [
        ["", "13500135000", "", "", "", "", "", ""],
        ["坏号码", "12345", "", "", "", "", "", ""],
    ]
    rows += [["重复", "138-0013-8000", "", "", "", "", "", ""]]
    response = upload(client, manager_auth, csv_bytes(rows, "gbk"))
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "queued" and body["rows"] == 34
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{body['job_id']}")

    job = finished(client, manager_auth, body["job_id"])
    assert job["status"] == "done"
    assert job["progress"] == 1.0
    assert job["encoding"] == "gb18030"
    assert job["counts"] == {
        "rows": 34,
        "processed": 34,
        "created": 31,
        "duplicates": 1,
        "errors": 2,
    }
    assert job["errors"]["total"] == 3
    assert [(e["row"], e["outcome"], e["field"]) for e in job["errors"]["items"]] == [
        (33, "error", "name"),
        (34, "error", "phone"),
        (35, "duplicate", "phone"),
    ]
    page = client.get(
        f"/api/v1/jobs/{body['job_id']}?limit=1&offset=1&outcome=error", headers=manager_auth
    ).get_json()
    assert [e["row"] for e in page["errors"]["items"]] == [34]
    assert page["errors"]["total"] == 2
    with db() as session:
        assert count(session, Customer) == 31

    report = client.get(f"/api/v1/jobs/{body['job_id']}/errors.csv", headers=manager_auth)
    assert report.status_code == 200
    assert report.mimetype == "text/csv"
    assert "attachment" in report.headers["Content-Disposition"]
    assert report.data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(report.data.decode("utf-8-sig"))))
    assert [line[0] for line in lines[1:]] == ["33", "34", "35"]
    assert lines[3][1] == "duplicate" and lines[3][5].isdigit()


def test_dry_run_returns_the_preview_and_creates_nothing(client, db, manager_auth, make_customer):
    make_customer(name="老客户", phone="13800138000")
    data = csv_bytes([["Name", "Mobile", "Note"], ["Ann", "13800138000", "x"], ["Bo", "1", ""]])
    mapping = json.dumps({"Name": "name", "Mobile": "phone", "Note": None})
    response = upload(client, manager_auth, data, "list.csv", "?dry_run=1", mapping=mapping)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["mapping"] == {"Name": "name", "Mobile": "phone", "Note": None}
    assert body["report"]["duplicates_existing"] == 1
    assert body["report"]["errors"] == 1
    assert [r["status"] for r in body["rows"]] == ["duplicate", "error"]
    with db() as session:
        assert count(session, Job) == 0
        assert count(session, Customer) == 1


def test_xlsx_upload_with_a_mapping(client, db, manager_auth):
    data = xlsx_bytes([["客户", "号码", "说明"], ["李雷", 13900139000, "老客户"]])
    mapping = json.dumps({"客户": "name", "号码": "phone", "说明": "notes"})
    response = upload(client, manager_auth, data, "list.xlsx", mapping=mapping)
    assert response.status_code == 202, response.get_json()
    job = finished(client, manager_auth, response.get_json()["job_id"])
    assert job["counts"]["created"] == 1 and job["file_format"] == "xlsx"
    with db() as session:
        customer = session.scalars(select(Customer)).one()
        assert (customer.name, customer.notes) == ("李雷", "老客户")


def test_a_file_over_50_mb_is_refused_with_413(client, db, manager_auth):
    data = b"x" * (50 * 1024 * 1024 + 1)
    assert_error(upload(client, manager_auth, data, "big.csv"), 413, "file_too_large")
    with db() as session:
        assert count(session, Job) == 0


def test_a_body_over_the_request_cap_is_a_json_413(client, manager_auth):
    data = b"x" * (61 * 1024 * 1024)
    response = client.post(
        IMPORT,
        data=data,
        headers={**manager_auth, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert_error(response, 413)


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("report.pdf", b"%PDF-1.4", 415, "unsupported_file_type"),
        (
            "old.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
            415,
            "unsupported_file_type",
        ),
        ("fake.xlsx", b"name,phone\n", 415, "unsupported_file_type"),
        ("latin.csv", "Name,Phone\nJosé,1\nZoë,2\n".encode("latin-1"), 422, "unknown_encoding"),
        ("empty.csv", b"", 422, "empty_file"),
    ],
)
def test_bad_files_are_refused_clearly(client, manager_auth, name, data, status, code):
    assert_error(upload(client, manager_auth, data, name), status, code)


def test_bad_requests_are_refused(client, manager_auth, agent_auth):
    assert_error(client.post(IMPORT, json={}, headers=manager_auth), 422, "file_required")
    data = csv_bytes([["姓名", "手机"], ["张三", "13800138000"]])
    error = assert_error(
        upload(client, manager_auth, data, mapping='{"手机": "phone"}'), 422, "invalid_mapping"
    )
    assert {d["field"] for d in error["details"]} == {"name"}
    assert_error(upload(client, manager_auth, data, mapping="{"), 422, "invalid_mapping")
    assert_error(upload(client, agent_auth, data), 403, "forbidden")
    assert_error(client.post(IMPORT), 401)


def test_too_many_rows_are_refused(runtime, make_user):
    limited = Runtime(
        settings=dataclasses.replace(runtime.settings, import_max_rows=2), db=runtime.db
    )
    client = create_app({"TESTING": True}, runtime=limited).test_client()
    make_user("admin", username="boss", password=PASSWORD)
    auth = api_token(client, "boss")
    rows = [["姓名", "手机"]] + [[f"客户{i}", f"1380013800{i}"] for i in range(3)]
    assert_error(upload(client, auth, csv_bytes(rows)), 422, "too_many_rows")


def test_jobs_are_private_to_their_creator(client, make_user, manager_auth):
    data = csv_bytes([["姓名", "手机"], ["张三", "13800138000"]])
    job_id = upload(client, manager_auth, data).get_json()["job_id"]
    finished(client, manager_auth, job_id)
    make_user("manager", username="manager2", password=PASSWORD)
    other = api_token(client, "manager2")
    assert_error(client.get(f"/api/v1/jobs/{job_id}", headers=other), 404, "job_not_found")
    assert_error(client.get(f"/api/v1/jobs/{job_id}/errors.csv", headers=other), 404)
    make_user("admin", username="admin1", password=PASSWORD)
    admin = api_token(client, "admin1")
    assert client.get(f"/api/v1/jobs/{job_id}", headers=admin).status_code == 200
    assert_error(client.get("/api/v1/jobs/999999", headers=admin), 404)
    assert_error(client.get(f"/api/v1/jobs/{job_id}?outcome=x", headers=admin), 422)


def test_export_csv_and_xlsx_audited_and_refused_to_agents(
    client, db, make_user, make_customer, manager_auth, agent_auth
):
    make_customer(name="客户甲", phone="13800138000")
    make_customer(name="客户乙", phone="13900139000", stage="interested")
    assert_error(client.get("/api/v1/customers/export", headers=agent_auth), 403, "forbidden")

    response = client.get("/api/v1/customers/export?format=csv", headers=manager_auth)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="customers.csv"' in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert lines[0][:3] == ["id", "name", "phones"]
    assert {line[1] for line in lines[1:]} == {"客户甲", "客户乙"}

    response = client.get(
        "/api/v1/customers/export?format=xlsx&stage=interested", headers=manager_auth
    )
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["客户乙"]
    assert_error(client.get("/api/v1/customers/export?format=pdf", headers=manager_auth), 422)
    with db() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)
        ).all()
    assert [
        (e.after["rows"], e.after["format"], e.after["filters"], e.source) for e in entries
    ] == [
        (2, "csv", {}, "api"),
        (1, "xlsx", {"stage": "interested"}, "api"),
    ]


@pytest.mark.parametrize("part", ["sheet", "content_types"])
def test_a_damaged_xlsx_is_refused_as_malformed_not_a_server_error(client, db, manager_auth, part):
    rows = [HEADERS_ZH] + [
        [f"客户{i}", f"1390013{i:04d}", "", "", "", "", "", ""] for i in range(200)
    ]
    response = upload(client, manager_auth, damaged_xlsx(rows, part), "damaged.xlsx")
    error = assert_error(response, 422, "malformed_file")
    assert "damaged" in error["message"]
    with db() as session:
        assert count(session, Job) == 0
        assert count(session, Customer) == 0


def test_an_api_create_during_an_import_of_the_same_email_makes_one_customer(
    app, runtime, db, make_user
):
    """The API's create waited for the email (an advisory lock on PostgreSQL), the import did
    not: a create while the import's batch was written made a second customer."""
    manager = make_user("manager", username="manager_race")
    row = ["李四", "13900139000", "race@example.com", "", "", "", "", ""]
    with db() as session:
        actor = session.get(User, manager.id)
        job_id = submit_import(
            session,
            actor=actor,
            file_name="客户.csv",
            data=csv_bytes([HEADERS_ZH, row]),
            max_rows=9,
        ).id
    body = {"name": "李四", "email": "Race@example.com"}
    answers: list = []
    creates: list[threading.Thread] = []

    def create() -> None:
        answers.append(app.test_client().post("/api/v1/customers", json=body, headers=auth))

    def during_the_batch(*_args) -> None:  # the batch is written, not yet committed
        creates.append(threading.Thread(target=create))
        creates[0].start()
        creates[0].join(timeout=0.5)  # without the import's lock the create ends meanwhile

    auth = bearer(db, manager)
    assert run_import(runtime.db, job_id, on_batch=during_the_batch) == "done"
    creates[0].join(timeout=30)
    assert [answer.status_code for answer in answers] == [409], answers[0].get_json()
    with db() as session:
        same = select(func.count()).where(func.lower(Customer.email) == "race@example.com")
        assert session.scalar(same) == 1
