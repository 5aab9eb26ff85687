"""Customer import: map a sheet's columns to customer fields, preview it, and run it as a job.

Every row goes through ``crm.customers.create_customer`` — the API's own normalization,
validation and duplicate detection — and ends as created, duplicate (with the existing
customer's id) or error (row, field, message). Rows are processed in batches; each batch's
customers, problem rows and the job's counters commit together (see ``crm.jobs``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm import audit, events, jobs
from crm.customers import (
    build_customer,
    create_customer,
    hold_emails,
    new_customer_values,
    parse_customer_input,
    record_created,
)
from crm.models import (
    Customer,
    CustomerPhone,
    Job,
    JobKind,
    JobRow,
    JobStatus,
    Role,
    RowOutcome,
    User,
)
from crm.spreadsheets import FileTooLarge, Sheet, read_sheet
from dialflow.db import Database, lock_failure, pool_exhausted, utcnow
from dialflow.errors import DialflowError, DuplicateCustomer, Forbidden, InvalidInput
from dialflow.strict_json import loads_strict

log = logging.getLogger(__name__)

IMPORT_ROLES = frozenset({Role.MANAGER, Role.DIRECTOR, Role.ADMIN})
MAX_FILE_BYTES = 50 * 1024 * 1024
BATCH_ROWS = 500
PREVIEW_ROWS = 20
SCAN_ROWS = 5_000  # the preview's dedupe report covers this many rows; the job covers all
QUERY_CHUNK = 500

# Customer fields a column can fill. ``phone`` may be mapped from several columns.
FIELDS = (
    "name",
    "phone",
    "email",
    "company",
    "address",
    "region",
    "source",
    "tags",
    "notes",
    "owner",
    "stage",
    "consent",
    "do_not_call",
    "timezone",
)
MULTI_FIELDS = frozenset({"phone"})
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "客户姓名", "客户名称", "客户名", "联系人", "name", "fullname",
             "customername", "contactname", "contact"),
    "phone": ("手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "联系方式", "座机",
              "固话", "移动电话", "phone", "mobile", "tel", "telephone", "phonenumber",
              "mobilephone", "cell", "cellphone"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e-mail", "mail", "emailaddress"),
    "company": ("公司", "公司名称", "单位", "工作单位", "企业", "企业名称", "company",
                "companyname", "organization", "organisation", "employer"),
    "address": ("地址", "详细地址", "联系地址", "通讯地址", "address"),
    "region": ("地区", "区域", "省份", "城市", "所在地", "所在地区", "省市", "region", "area",
               "city", "province", "location"),
    "source": ("来源", "客户来源", "渠道", "线索来源", "source", "leadsource", "channel"),
    "tags": ("标签", "客户标签", "tags", "tag", "labels", "label"),
    "notes": ("备注", "说明", "描述", "备注信息", "notes", "note", "remark", "remarks",
              "comment", "comments", "description"),
    "owner": ("负责人", "归属人", "跟进人", "所属坐席", "坐席", "销售", "owner", "assignedto",
              "agent", "salesrep"),
    "stage": ("阶段", "客户阶段", "状态", "stage", "status"),
    "consent": ("同意", "授权", "consent"),
    "do_not_call": ("禁止呼叫", "勿扰", "免打扰", "donotcall", "dnc"),
    "timezone": ("时区", "timezone", "tz"),
}  # fmt: skip
# A header that merely contains one of these words (e.g. 手机号码1, 客户电话) also matches.
CONTAINS = (
    ("手机", "phone"),
    ("电话", "phone"),
    ("phone", "phone"),
    ("mobile", "phone"),
    ("tel", "phone"),
    ("邮箱", "email"),
    ("email", "email"),
    ("公司", "company"),
    ("姓名", "name"),
    ("地址", "address"),
    ("备注", "notes"),
    ("标签", "tags"),
    ("来源", "source"),
)
_PUNCT = re.compile(r"[\s_\-:：*（）()\[\]【】.#]+")


def _key(header: str) -> str:
    return _PUNCT.sub("", header).lower()


def guess_mapping(headers: Iterable[str]) -> dict[str, str | None]:
    """A field for each header where one is obvious (Chinese or English), else None; a field
    other than phone is used once."""
    lookup = {_key(word): field for field, words in SYNONYMS.items() for word in words}
    mapping: dict[str, str | None] = {}
    used: set[str] = set()
    for header in headers:
        key = _key(header)
        field = lookup.get(key)
        if field is None:
            field = next((f for word, f in CONTAINS if word in key), None)
        if field is not None and field in used and field not in MULTI_FIELDS:
            field = None
        mapping[header] = field
        if field:
            used.add(field)
    return mapping


def parse_mapping(headers: list[str], raw: Any) -> dict[str, str | None]:
    """Validate a mapping ``{column header: field or null}``; columns not named are ignored.
    ``raw`` may be a JSON string (multipart forms) or an object; None means the guesses."""
    if raw is None or raw == "":
        mapping: dict[str, str | None] = guess_mapping(headers)
    else:
        if isinstance(raw, str):
            try:
                raw = loads_strict(raw)
            except (ValueError, RecursionError):
                raise InvalidInput(
                    "mapping must be a JSON object {column: field}.", code="invalid_mapping"
                ) from None
        if not isinstance(raw, Mapping):
            raise InvalidInput(
                "mapping must be a JSON object {column: field}.", code="invalid_mapping"
            )
        mapping = {header: None for header in headers}
        problems = []
        for column, field in raw.items():
            if column not in mapping:
                problems.append({"field": str(column), "message": "No such column in the file."})
            elif field not in (None, "") and field not in FIELDS:
                problems.append({"field": str(column), "message": f"Unknown field {field!r}."})
            else:
                mapping[column] = field or None
        if problems:
            raise InvalidInput(
                "The column mapping is not valid.", code="invalid_mapping", details=problems
            )
    _check_mapping(mapping)
    return mapping


def _check_mapping(mapping: Mapping[str, str | None]) -> None:
    fields = [f for f in mapping.values() if f]
    problems = [
        {"field": field, "message": "Only one column may fill this field."}
        for field in sorted(set(fields))
        if fields.count(field) > 1 and field not in MULTI_FIELDS
    ]
    if "name" not in fields:
        problems.append({"field": "name", "message": "Choose the column with the name."})
    if "phone" not in fields and "email" not in fields:
        problems.append({"field": "phone", "message": "Choose a phone or an email column."})
    if problems:
        raise InvalidInput(
            "The column mapping is not complete.", code="invalid_mapping", details=problems
        )


def may_import(user: User) -> bool:
    return user.active and user.role in IMPORT_ROLES


def ensure_may_import(user: User) -> None:
    if not may_import(user):
        raise Forbidden("Importing customers needs the manager, director or admin role.")


def open_upload(file_name: str, data: bytes, *, max_bytes: int = MAX_FILE_BYTES) -> Sheet:
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    return read_sheet(file_name, data)


def too_large(max_bytes: int = MAX_FILE_BYTES) -> FileTooLarge:
    return FileTooLarge(
        f"The file is larger than {max_bytes // (1024 * 1024)} MB; split it into smaller files.",
        details=[{"field": "file", "message": f"at most {max_bytes} bytes"}],
    )


def count_rows(sheet: Sheet, max_rows: int) -> int:
    """Read the whole file once (file-level problems surface now, not inside the job)."""
    total = 0
    for _ in sheet.rows():
        total += 1
        if total > max_rows:
            raise InvalidInput(
                f"The file has more than {max_rows:,} rows; split it into smaller files.",
                code="too_many_rows",
                details=[{"field": "file", "message": f"at most {max_rows} rows"}],
            )
    if total == 0:
        raise InvalidInput("The file has a header but no rows.", code="empty_file")
    return total


@dataclass
class RowData:
    number: int
    values: dict[str, str]  # header -> cell, as read
    data: dict[str, Any]  # customer input for create_customer
    problem: str | None = None  # a row-shape problem found before validation


def mapped_rows(sheet: Sheet, mapping: Mapping[str, str | None]) -> Iterable[RowData]:
    headers = sheet.headers
    for number, cells in sheet.rows():
        values = dict(zip(headers, cells, strict=False))
        data: dict[str, Any] = {}
        phones: list[str] = []
        for header, cell in values.items():
            field = mapping.get(header)
            text = cell.strip()
            if not field or not text:
                continue
            if field == "phone":
                phones.extend(p for p in re.split(r"[;；,，/、]", text) if p.strip())
            else:
                data[field] = text
        if len(phones) == 1:
            data["phone"] = phones[0]  # errors then name the field "phone"
        elif phones:
            data["phones"] = phones
        problem = None
        if len(cells) > len(headers):
            values.update({f"#{i + 1}": c for i, c in enumerate(cells) if i >= len(headers)})
            problem = f"The row has {len(cells)} cells but the header has {len(headers)}."
        yield RowData(number, values, data, problem)


def preview(
    session: Session,
    sheet: Sheet,
    mapping: Mapping[str, str | None],
    *,
    region: str = "CN",
    show: int = PREVIEW_ROWS,
    scan: int = SCAN_ROWS,
) -> dict[str, Any]:
    """The first rows as they would be imported and a dedupe report over the first ``scan``
    rows: invalid rows, phones and emails already in the database (exact), customers with the
    same name (a hint, not a duplicate), and rows repeating an earlier row of the file."""
    parsed: list[tuple[RowData, dict[str, Any] | None, list[dict[str, Any]]]] = []
    for index, row in enumerate(mapped_rows(sheet, mapping)):
        if index >= scan:
            break
        problems: list[dict[str, Any]] = []
        values: dict[str, Any] | None = None
        if row.problem:
            problems.append({"kind": "error", "field": None, "message": row.problem})
        try:
            values = parse_customer_input(session, row.data, partial=False, region=region)
            if not values.get("phones") and not values.get("email"):
                problems.append(
                    {"kind": "error", "field": "phone", "message": "No phone and no email."}
                )
        except InvalidInput as exc:
            problems += [{"kind": "error", **_detail(d, exc)} for d in exc.details or [{}]]
        parsed.append((row, values, problems))

    valid = [(row, values) for row, values, _ in parsed if values]
    existing = _existing_matches(session, [values for _row, values in valid])
    first_seen: dict[tuple[str, str], int] = {}
    for (row, values), (_r, _v, problems) in zip(valid, [p for p in parsed if p[1]], strict=True):
        for key in _keys(values):
            if key in existing:
                cid, cname = existing[key]
                problems.append(_dup(key, f"Same {key[0]} as customer #{cid} ({cname}).", cid))
            elif key in first_seen:
                problems.append(
                    _dup(key, f"Same {key[0]} as row {first_seen[key]} of this file.", None)
                    | {"same_as_row": first_seen[key]}
                )
            else:
                first_seen[key] = row.number
        same_name = existing.get(("name", values["name"]))
        if same_name and not any(p["kind"] == "duplicate" for p in problems):
            problems.append(
                {
                    "kind": "same_name",
                    "field": "name",
                    "message": f"Customer #{same_name[0]} has the same name.",
                    "existing_id": same_name[0],
                }
            )

    report = {"scanned": len(parsed), "new": 0, "errors": 0, "same_name": 0}
    report |= {"duplicates_existing": 0, "duplicates_in_file": 0}
    for _row, _values, problems in parsed:
        kinds = {p["kind"] for p in problems}
        if "error" in kinds:
            report["errors"] += 1
        elif "duplicate" in kinds:
            in_file = all("same_as_row" in p for p in problems if p["kind"] == "duplicate")
            report["duplicates_in_file" if in_file else "duplicates_existing"] += 1
        else:
            report["new"] += 1
            report["same_name"] += "same_name" in kinds
    return {
        "headers": sheet.headers,
        "mapping": dict(mapping),
        "file_format": sheet.file_format,
        "encoding": sheet.encoding,
        "rows": [
            {
                "row": row.number,
                "values": {
                    field: _shown(values, row.data, field) for field in _mapped_fields(mapping)
                },
                "status": _status(problems),
                "problems": problems,
            }
            for row, values, problems in parsed[:show]
        ],
        "problems": [{"row": row.number, **p} for row, _v, problems in parsed for p in problems][
            :200
        ],
        "report": report,
    }


def _mapped_fields(mapping: Mapping[str, str | None]) -> list[str]:
    return [f for f in FIELDS if f in set(mapping.values())]


def _shown(values: dict[str, Any] | None, data: dict[str, Any], field: str) -> Any:
    if values is None:
        if field == "phone":
            return data.get("phone") or ", ".join(data.get("phones", []))
        return data.get(field)
    if field == "phone":
        return ", ".join(values.get("phones", []))
    value = values.get(field)
    if isinstance(value, User):
        return value.username
    if isinstance(value, list):
        return ", ".join(value)
    return getattr(value, "value", value)


def _status(problems: list[dict[str, Any]]) -> str:
    kinds = {p["kind"] for p in problems}
    for kind in ("error", "duplicate", "same_name"):
        if kind in kinds:
            return kind
    return "new"


def _dup(key: tuple[str, str], message: str, existing_id: int | None) -> dict[str, Any]:
    return {"kind": "duplicate", "field": key[0], "message": message, "existing_id": existing_id}


def _detail(detail: Mapping[str, Any], exc: DialflowError) -> dict[str, Any]:
    return {"field": detail.get("field"), "message": detail.get("message") or exc.message}


def _existing_matches(
    session: Session, rows: list[dict[str, Any]], *, names: bool = True
) -> dict[tuple[str, str], tuple[int, str]]:
    """Existing customers by ("phone", e164), ("email", address) and ("name", name), in a few
    batched queries with the rules of ``crm.customers.find_duplicates``: the unique E.164
    index, and the email compared case-insensitively."""
    found: dict[tuple[str, str], tuple[int, str]] = {}
    phones = sorted({p for r in rows for p in r.get("phones", [])})
    emails = sorted({r["email"].lower() for r in rows if r.get("email")})
    alive = Customer.erased_at.is_(None)
    for chunk in _chunks(phones):
        query = (
            select(CustomerPhone.e164, Customer.id, Customer.name)
            .join(Customer, Customer.id == CustomerPhone.customer_id)
            .where(CustomerPhone.e164.in_(chunk))
        )
        for e164, cid, name in session.execute(query):
            found[("phone", e164)] = (cid, name)
    for chunk in _chunks(emails):
        address = func.lower(Customer.email)
        query = select(address, Customer.id, Customer.name).where(address.in_(chunk), alive)
        for email, cid, name in session.execute(query):
            found.setdefault(("email", email), (cid, name))
    if names:
        wanted = sorted({r["name"] for r in rows if r.get("name")})
        for chunk in _chunks(wanted):
            query = select(Customer.id, Customer.name).where(Customer.name.in_(chunk), alive)
            for cid, name in session.execute(query):
                found.setdefault(("name", name), (cid, name))
    return found


def _keys(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    keys = [("phone", p) for p in values.get("phones", [])]
    return keys + ([("email", values["email"].lower())] if values.get("email") else [])


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), QUERY_CHUNK):
        yield values[start : start + QUERY_CHUNK]


def submit_import(
    session: Session,
    *,
    actor: User,
    file_name: str,
    data: bytes,
    mapping: Any = None,
    max_rows: int,
    draft: bool = False,
    route_leads: bool = False,
) -> Job:
    """Check the file and the mapping, store the file with a new job (queued, or a draft the
    wizard confirms later with ``start_import``). The caller dispatches queued jobs."""
    ensure_may_import(actor)
    sheet = open_upload(file_name, data)
    total = count_rows(sheet, max_rows)
    checked = guess_mapping(sheet.headers) if draft and not mapping else None
    if checked is None:
        checked = parse_mapping(sheet.headers, mapping)
    job = jobs.create_job(
        session,
        kind=JobKind.IMPORT,
        actor=actor,
        status=JobStatus.DRAFT if draft else JobStatus.QUEUED,
        file_name=(file_name or "upload")[-255:],
        file_format=sheet.file_format,
        encoding=sheet.encoding,
        mapping=checked,
        rows_total=total,
    )
    job.options = {**(job.options or {}), "route_leads": bool(route_leads)}
    content_type = "text/csv" if sheet.file_format == "csv" else _XLSX
    jobs.store_file(session, job, "upload", data, content_type)
    return job


def load_sheet(session: Session, job: Job) -> Sheet:
    data = jobs.file_bytes(session, job.id, "upload")
    if data is None:
        raise InvalidInput("The job's file is gone.", code="job_file_missing")
    return read_sheet(job.file_name or "upload", data)


def start_import(session: Session, job: Job, mapping: Any) -> Job:
    """Confirm a draft's mapping and queue it."""
    if job.status != JobStatus.DRAFT:
        raise InvalidInput("This import has already been started.", code="job_started")
    sheet = load_sheet(session, job)
    job.mapping = parse_mapping(sheet.headers, mapping)
    job.status = JobStatus.QUEUED
    job.created_at = utcnow()
    return job


# Called once per batch, in the batch's transaction, with the customers the batch created and
# the existing customers its duplicate rows matched; ``processes`` uses it to route imported
# rows as leads (the CRM does not know the processes).
BatchHook = Callable[[Session, Job, list[int], list[int]], None]


def run_import(
    db: Database,
    job_id: int,
    *,
    region: str = "CN",
    default_timezone: str = "Asia/Shanghai",
    batch_rows: int = BATCH_ROWS,
    now: Callable[[], datetime] = utcnow,
    on_batch: BatchHook | None = None,
) -> str:
    """Run (or resume) an import job to the end; returns the job's status afterwards.

    Safe to call from several processes at once: only the holder of the lease works."""
    runner = jobs.new_runner()
    with db.unit_of_work() as session:
        job = jobs.claim(session, job_id, runner, now())
        if job is None:
            current = session.get(Job, job_id)
            return current.status.value if current else "missing"
        try:
            sheet = load_sheet(session, job)
        except DialflowError as exc:
            jobs.fail(job, exc.message, now())
            return JobStatus.FAILED.value
        mapping, skip = dict(job.mapping or {}), job.rows_processed
    rows = iter(mapped_rows(sheet, mapping))
    try:
        for _ in range(skip):
            next(rows, None)
    except DialflowError as exc:
        return _fail_held(db, job_id, runner, now, exc)
    run = _Run(region=region, default_timezone=default_timezone)
    while True:
        try:
            batch = [row for _, row in zip(range(batch_rows), rows, strict=False)]
        except DialflowError as exc:  # the file turned out damaged part-way through
            return _fail_held(db, job_id, runner, now, exc)
        try:
            with db.unit_of_work() as session:
                job = jobs.hold(session, job_id, runner, now())
                if job is None:
                    return "lost"  # another runner took over after our lease expired
                if not batch:
                    jobs.finish(job, now())
                    _audit_done(session, job)
                    return JobStatus.DONE.value
                actor = session.get(User, job.created_by_id) if job.created_by_id else None
                run.created, run.duplicates = [], []
                run.batch(session, job, actor, batch)
                if on_batch is not None and (run.created or run.duplicates):
                    on_batch(session, job, run.created, run.duplicates)
                job.rows_processed += len(batch)
        except Exception as exc:
            if lock_failure(exc) or pool_exhausted(exc):
                _release_busy(db, job_id, runner, now)
            raise


def _release_busy(db: Database, job_id: int, runner: str, now: Callable[[], datetime]) -> None:
    """``jobs.release_busy`` in a transaction of its own; when the database is still too
    busy for that, the lease runs out and the attempt counts."""
    try:
        with db.unit_of_work() as session:
            jobs.release_busy(session, job_id, runner, now())
    except Exception as exc:
        if not (lock_failure(exc) or pool_exhausted(exc)):
            raise
        log.warning("import job %s: the database is busy; its lease will run out", job_id)


def _fail_held(
    db: Database, job_id: int, runner: str, now: Callable[[], datetime], exc: DialflowError
) -> str:
    """Mark the job failed with the file's problem; the batches before it stay imported."""
    with db.unit_of_work() as session:
        job = jobs.hold(session, job_id, runner, now())
        if job is None:
            return "lost"
        jobs.fail(job, exc.message, now())
    return JobStatus.FAILED.value


class _Run:
    """Per-run memory: which created customer came from which row, for in-file duplicates."""

    def __init__(self, *, region: str, default_timezone: str) -> None:
        self.region = region
        self.default_timezone = default_timezone
        self.row_of_customer: dict[int, int] = {}
        self.created: list[int] = []  # this batch's new customers
        self.duplicates: list[int] = []  # existing customers this batch's rows repeated

    def batch(self, session: Session, job: Job, actor: User | None, rows: list[RowData]) -> None:
        """The rows of one batch with the API's rules, in a few statements: validate each row
        (``new_customer_values``), find duplicates for the whole batch at once, insert the new
        customers together. If a concurrent writer took one of the numbers meanwhile (the
        unique index refuses the insert), the batch is redone row by row."""
        candidates: list[tuple[RowData, dict[str, Any]]] = []
        for row in rows:
            try:
                if row.problem:
                    raise InvalidInput(row.problem)
                candidates.append((row, new_customer_values(session, row.data, region=self.region)))
            except DialflowError as exc:
                self._error(session, job, row, exc)
        # As the API's create does: a customer created at the same moment with one of these
        # emails is then either seen below or waits for this batch's transaction.
        hold_emails(session, [v["email"] for _r, v in candidates if v.get("email")])
        existing = _existing_matches(session, [v for _r, v in candidates], names=False)
        fresh: list[tuple[RowData, Customer]] = []
        seen: dict[tuple[str, str], tuple[int, Customer]] = {}
        repeats: list[tuple[RowData, tuple[str, str], tuple[int, Customer]]] = []
        for row, values in candidates:
            keys = _keys(values)
            old = next((k for k in keys if k in existing), None)
            if old is not None:
                cid, name = existing[old]
                message = f"Customer #{cid} ({name}) already has this {old[0]}."
                if cid in self.row_of_customer:
                    message = (
                        f"Same {old[0]} as row {self.row_of_customer[cid]} of this file "
                        f"(customer #{cid})."
                    )
                self._duplicate(session, job, row, old[0], cid, message)
                continue
            earlier = next((k for k in keys if k in seen), None)
            if earlier is not None:
                repeats.append((row, earlier, seen[earlier]))
                continue
            customer = build_customer(values, actor=actor, default_timezone=self.default_timezone)
            seen.update({key: (row.number, customer) for key in keys})
            fresh.append((row, customer))
        try:
            with session.begin_nested():
                session.add_all([customer for _row, customer in fresh])
                session.flush()
        except IntegrityError:
            for row, _customer in fresh:
                self.one(session, job, actor, row)
            for row, _key, _first in repeats:
                self.one(session, job, actor, row)
            return
        for row, customer in fresh:
            record_created(session, customer, actor=actor, source="import")
            job.rows_created += 1
            self.row_of_customer[customer.id] = row.number
            self.created.append(customer.id)
        if fresh:
            events.publish(session, "customers_created", {"customers": [c for _r, c in fresh]})
        for row, key, (first_row, customer) in repeats:
            message = f"Same {key[0]} as row {first_row} of this file (customer #{customer.id})."
            self._duplicate(session, job, row, key[0], customer.id, message)

    def one(self, session: Session, job: Job, actor: User | None, row: RowData) -> None:
        try:
            if row.problem:
                raise InvalidInput(row.problem, details=[{"field": None, "message": row.problem}])
            customer = create_customer(
                session,
                row.data,
                actor=actor,
                region=self.region,
                default_timezone=self.default_timezone,
            )
        except DuplicateCustomer as exc:
            detail = (exc.details or [{}])[0]
            existing = detail.get("existing_id")
            existing = existing if isinstance(existing, int) else None
            message = exc.message
            if existing in self.row_of_customer:
                message = (
                    f"Same {detail.get('field')} as row {self.row_of_customer[existing]} "
                    f"of this file (customer #{existing})."
                )
            self._duplicate(session, job, row, detail.get("field"), existing, message)
        except DialflowError as exc:
            self._error(session, job, row, exc)
        else:
            job.rows_created += 1
            self.row_of_customer[customer.id] = row.number
            self.created.append(customer.id)

    def _duplicate(
        self,
        session: Session,
        job: Job,
        row: RowData,
        field: str | None,
        existing_id: int | None,
        message: str,
    ) -> None:
        problem = _problem(job, row, RowOutcome.DUPLICATE, field, message)
        problem.existing_customer_id = existing_id
        session.add(problem)
        job.rows_duplicate += 1
        if existing_id is not None and existing_id not in self.row_of_customer:
            self.duplicates.append(existing_id)  # a customer from before, not from this file

    @staticmethod
    def _error(session: Session, job: Job, row: RowData, exc: DialflowError) -> None:
        for detail in exc.details or [{"field": None, "message": exc.message}]:
            message = detail.get("message") or exc.message
            session.add(_problem(job, row, RowOutcome.ERROR, detail.get("field"), message))
        job.rows_error += 1


def _problem(
    job: Job, row: RowData, outcome: RowOutcome, field: str | None, message: str
) -> JobRow:
    return JobRow(
        job_id=job.id,
        row_number=row.number,
        outcome=outcome,
        field=str(field)[:40] if field else None,
        message=message,
        values=row.values,
    )


def _audit_done(session: Session, job: Job) -> None:
    actor = session.get(User, job.created_by_id) if job.created_by_id else None
    audit.record(
        session,
        actor=actor,
        action="import",
        entity_type="job",
        entity_id=job.id,
        after={
            "file_name": job.file_name,
            "rows": job.rows_total,
            "created": job.rows_created,
            "duplicates": job.rows_duplicate,
            "errors": job.rows_error,
        },
        source="import",
    )


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
