"""The import wizard and the export buttons, through the browser pages (Flask test client)."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from sqlalchemy import select

from crm.models import AuditEntry, Customer, Job, JobFile, JobStatus
from dialflow.runtime import Runtime
from tests.conftest import PASSWORD, count, sign_in
from tests.sheets import csv_bytes, damaged_xlsx, wait_until, xlsx_bytes
from tests.web.test_pages import EN, csrf_token, location_path
from web import create_app

ROWS = [
    ["客户姓名", "联系电话", "备注", "内部编号"],
    ["张三", "13800138000", "老客户", "A1"],
    ["李四", "12345", "", "A2"],
    ["王五", "138 0013 8000", "", "A3"],
]
DAMAGED_ROWS = [["姓名", "手机"]] + [[f"客户{i}", f"1390013{i:04d}"] for i in range(300)]


@pytest.fixture
def manager(client, make_user):
    user = make_user("manager", username="manager1", password=PASSWORD)
    sign_in(client, "manager1")
    return user


@pytest.fixture
def agent(client, make_user):
    user = make_user("agent", username="agent1", password=PASSWORD)
    sign_in(client, "agent1")
    return user


def upload(client, data: bytes, name: str = "客户.csv", token: str | None = None):
    if token is None:
        token = csrf_token(client.get("/customers/import", headers=EN).text)
    return client.post(
        "/customers/import",
        data={"file": (io.BytesIO(data), name), "csrf_token": token},
        content_type="multipart/form-data",
        headers=EN,
    )


def selected(html: str) -> dict[str, str]:
    """``select name -> selected option value`` of the mapping form."""
    found = {}
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        choice = re.search(r'<option value="([^"]*)" selected>', body)
        found[name] = choice.group(1) if choice else ""
    return found


def test_the_wizard_from_upload_to_the_finished_job(client, db, manager):
    page = client.get("/customers/import", headers=EN)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert 'href="/customers/import"' in page.text  # the nav link

    response = upload(client, csv_bytes(ROWS, "gbk"))
    assert response.status_code == 302
    mapping_url = location_path(response)
    assert re.fullmatch(r"/customers/import/\d+/mapping", mapping_url)

    page = client.get(mapping_url, headers=EN)
    assert page.status_code == 200
    assert selected(page.text) == {"col-0": "name", "col-1": "phone", "col-2": "notes", "col-3": ""}
    assert "13800138000" in page.text  # sample values help choose
    token = csrf_token(page.text)

    response = client.post(
        mapping_url,
        data={"col-0": "name", "col-1": "phone", "col-2": "", "col-3": "", "csrf_token": token},
        headers=EN,
    )
    assert response.status_code == 302
    preview_url = location_path(response)
    page = client.get(preview_url, headers=EN)
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert "<strong>1</strong> new customers" in text
    assert "<strong>1</strong> repeat an earlier row of the file" in text
    assert "<strong>1</strong> have errors" in text
    assert "老客户" not in page.text  # the notes column is no longer imported

    job_id = int(preview_url.split("/")[3])
    start_url = f"/customers/import/{job_id}/start"
    assert client.post(start_url, data={}, headers=EN).status_code == 400  # CSRF
    response = client.post(start_url, data={"csrf_token": csrf_token(page.text)}, headers=EN)
    assert response.status_code == 302
    assert location_path(response) == f"/jobs/{job_id}"

    status = wait_until(lambda: client.get(f"/jobs/{job_id}/status.json").get_json())
    assert status["status"] == "done"
    assert status["counts"]["created"] == 1
    page = client.get(f"/jobs/{job_id}", headers=EN)
    assert page.status_code == 200
    assert "Finished" in page.text
    assert 'role="progressbar"' in page.text and "<script>" in page.text
    assert f'href="/jobs/{job_id}/errors.csv"' in page.text
    assert "is not a valid phone number" in page.text
    report = client.get(f"/jobs/{job_id}/errors.csv")
    assert report.status_code == 200 and report.data.startswith(b"\xef\xbb\xbf")
    assert "内部编号" in report.data.decode("utf-8-sig")  # the original cells come along
    with db() as session:
        customer = session.scalars(select(Customer)).one()
        assert (customer.name, customer.notes) == ("张三", None)
    # the wizard's steps of a started job lead to its page; starting twice is harmless
    assert location_path(client.get(mapping_url)) == f"/jobs/{job_id}"
    response = client.post(start_url, data={"csrf_token": csrf_token(page.text)})
    assert location_path(response) == f"/jobs/{job_id}"


def test_an_incomplete_mapping_is_shown_again_with_the_problem(client, db, manager):
    response = upload(client, csv_bytes(ROWS))
    mapping_url = location_path(response)
    token = csrf_token(client.get(mapping_url).text)
    page = client.post(mapping_url, data={"col-1": "phone", "csrf_token": token}, headers=EN)
    assert page.status_code == 422
    assert "Choose the column with the name." in page.text
    assert selected(page.text)["col-0"] == ""  # the user's choice, not the guess
    with db() as session:
        assert session.scalars(select(Job)).one().status == JobStatus.DRAFT


def test_uploads_without_csrf_or_too_large_or_of_the_wrong_type_are_refused(client, db, manager):
    assert upload(client, csv_bytes(ROWS), token="forged").status_code == 400
    response = upload(client, b"x" * (50 * 1024 * 1024 + 1), "big.csv")
    assert response.status_code == 413
    assert "file_too_large" in response.text and "<html" in response.text
    response = upload(client, b"%PDF-1.4", "a.pdf")
    assert response.status_code == 415
    with db() as session:
        assert count(session, Job) == 0


def test_agents_get_neither_import_nor_export(client, agent):
    page = client.get("/customers", headers=EN)
    assert 'href="/customers/import"' not in page.text
    assert "/customers/export" not in page.text
    assert client.get("/customers/import", headers=EN).status_code == 403
    assert client.get("/customers/export?format=csv", headers=EN).status_code == 403


def test_export_buttons_download_and_audit(client, db, manager, make_customer):
    make_customer(name="客户甲", phone="13800138000")
    page = client.get("/customers?q=客户", headers=EN)
    assert 'href="/customers/export?format=csv&amp;q=%E5%AE%A2%E6%88%B7"' in page.text
    response = client.get("/customers/export?format=csv&q=客户")
    assert response.status_code == 200
    assert "客户甲" in response.data.decode("utf-8-sig")
    response = client.get("/customers/export?format=xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    with db() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert [(e.after["rows"], e.after["filters"], e.source) for e in entries] == [
        (1, {"q": "客户"}, "web"),
        (1, {}, "web"),
    ]


def test_other_users_jobs_are_not_found(client, db, make_user, manager):
    job_url = location_path(upload(client, csv_bytes(ROWS)))
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/customers").text)})
    make_user("manager", username="manager2", password=PASSWORD)
    sign_in(client, "manager2")
    assert client.get(job_url).status_code == 404


ZH_HEADERS = {"Accept-Language": "zh-CN,zh;q=0.9"}


def zh_upload(client, data: bytes, name: str):
    token = csrf_token(client.get("/customers/import", headers=ZH_HEADERS).text)
    return client.post(
        "/customers/import",
        data={"file": (io.BytesIO(data), name), "csrf_token": token},
        content_type="multipart/form-data",
        headers=ZH_HEADERS,
    )


@pytest.mark.parametrize(
    ("name", "data", "status", "code", "chinese"),
    [
        (
            "latin.csv",
            "Name,Phone\nJosé,1\nZoë,2\n".encode("latin-1"),
            422,
            "unknown_encoding",
            "编码",
        ),
        ("damaged.xlsx", damaged_xlsx(DAMAGED_ROWS, "sheet"), 422, "malformed_file", "已损坏"),
        (
            "damaged.xlsx",
            damaged_xlsx(DAMAGED_ROWS, "content_types"),
            422,
            "malformed_file",
            "已损坏",
        ),
    ],
)
def test_upload_problems_are_explained_on_the_upload_form_in_chinese(
    client, db, manager, name, data, status, code, chinese
):
    response = zh_upload(client, data, name)
    assert response.status_code == status
    error = re.search(
        r'<div class="flash error" role="alert" id="upload-error" data-code="([^"]+)">(.*?)</div>',
        response.text,
        re.S,
    )
    assert error, response.text
    assert error.group(1) == code
    assert chinese in error.group(2)
    assert 'enctype="multipart/form-data"' in response.text  # the form is there to try again
    with db() as session:
        assert count(session, Job) == 0


def test_too_many_rows_are_explained_in_chinese(runtime, make_user):
    limited = Runtime(
        settings=dataclasses.replace(runtime.settings, import_max_rows=2), db=runtime.db
    )
    client = create_app({"TESTING": True}, runtime=limited).test_client()
    make_user("manager", username="boss", password=PASSWORD)
    sign_in(client, "boss")
    rows = [["姓名", "手机"]] + [[f"客户{i}", f"1380013800{i}"] for i in range(3)]
    response = zh_upload(client, csv_bytes(rows), "many.csv")
    assert response.status_code == 422
    assert 'data-code="too_many_rows"' in response.text
    assert "行数过多" in response.text


def test_a_file_damaged_after_upload_fails_its_job_with_a_clear_message(client, db, manager):
    """The file is checked at upload; if it is unreadable when the job runs, the job fails with
    the reason instead of stopping its runner."""
    data = xlsx_bytes(DAMAGED_ROWS)
    response = upload(client, data, "客户.xlsx")
    assert response.status_code == 302, response.text
    mapping_url = location_path(response)
    job_id = int(re.search(r"/import/(\d+)/", mapping_url).group(1))
    with db() as session:
        stored = session.scalars(select(JobFile).where(JobFile.job_id == job_id)).one()
        stored.data = damaged_xlsx(DAMAGED_ROWS, "sheet")
    preview = client.get(f"/customers/import/{job_id}/preview", headers=EN)
    assert preview.status_code == 422  # the preview reads every row: refused, not a 500
    token = csrf_token(client.get(mapping_url, headers=EN).text)
    response = client.post(f"/customers/import/{job_id}/start", data={"csrf_token": token})
    assert response.status_code == 302
    job = wait_until(lambda: client.get(f"/jobs/{job_id}/status.json").get_json())
    assert job["status"] == "failed"
    assert "damaged" in job["message"]
    page = client.get(f"/jobs/{job_id}", headers=EN)
    assert page.status_code == 200
    assert "damaged" in page.text
    chinese = client.get(f"/jobs/{job_id}", headers=ZH_HEADERS).text
    assert re.search(r"文件在第 \d+ 行附近已损坏", chinese)
