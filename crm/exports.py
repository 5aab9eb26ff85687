"""Customer export to CSV (UTF-8 with a BOM, for Excel) or XLSX, within the viewer's scope.

Exporting personal data needs permission (managers, directors, admins) and every export is
audited with its row count and filters. Exports run synchronously up to ``MAX_EXPORT_ROWS``;
a larger selection is refused with a request to narrow the filters.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from crm import audit
from crm.customers import customer_query
from crm.models import Customer, Role, User
from crm.phones import mask_phone
from crm.scoping import may_see_full_phone
from crm.spreadsheets import excel_safe
from dialflow.errors import Forbidden, InvalidInput

EXPORT_ROLES = frozenset({Role.MANAGER, Role.DIRECTOR, Role.ADMIN})
MAX_EXPORT_ROWS = 100_000
CHUNK = 1_000
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
COLUMNS = (
    "id",
    "name",
    "phones",
    "email",
    "company",
    "region",
    "source",
    "stage",
    "tags",
    "owner",
    "pool_status",
    "do_not_call",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Export:
    content: bytes
    content_type: str
    file_name: str
    rows: int


def may_export(user: User) -> bool:
    return user.active and user.role in EXPORT_ROLES


def export_customers(
    session: Session,
    *,
    viewer: User,
    file_format: str = "csv",
    filters: dict[str, Any] | None = None,
    region: str = "CN",
    source: str | None = None,
    max_rows: int = MAX_EXPORT_ROWS,
) -> Export:
    """The customers ``viewer`` may see that match ``filters`` (q, owner_id, stage, pool, tag)
    as one file; audited in the caller's transaction."""
    if not may_export(viewer):
        raise Forbidden("Exporting customers needs the manager, director or admin role.")
    if file_format not in FORMATS:
        raise InvalidInput(
            "format must be csv or xlsx.",
            details=[{"field": "format", "message": "use csv or xlsx"}],
        )
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    query = customer_query(viewer=viewer, region=region, **filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if total > max_rows:
        raise InvalidInput(
            f"{total:,} customers match; export at most {max_rows:,} at a time "
            "(narrow the search).",
            code="export_too_large",
        )
    records = _records(session, query, viewer)
    content = _csv(records) if file_format == "csv" else _xlsx(records)
    audit.record(
        session,
        actor=viewer,
        action="export",
        entity_type="customer",
        after={"rows": total, "format": file_format, "filters": filters},
        source=source,
    )
    return Export(content, FORMATS[file_format], f"customers.{file_format}", total)


def _records(session: Session, query: Any, viewer: User) -> Iterator[list[Any]]:
    """Rows in id order, read in keyset chunks (no OFFSET, bounded memory)."""
    last = 0
    while True:
        chunk = session.scalars(
            query.where(Customer.id > last)
            .order_by(Customer.id)
            .limit(CHUNK)
            .options(
                selectinload(Customer.phones),
                selectinload(Customer.tag_rows),
                selectinload(Customer.owner),
            )
        ).all()
        if not chunk:
            return
        for customer in chunk:
            full = may_see_full_phone(viewer, customer)
            phones = [p.e164 if full else mask_phone(p.e164) for p in customer.phones]
            yield [
                customer.id,
                customer.name,
                " ".join(phones),
                customer.email,
                customer.company,
                customer.region,
                customer.source,
                customer.stage.value,
                ",".join(customer.tags),
                customer.owner.username if customer.owner else None,
                customer.pool_status.value,
                customer.do_not_call,
                customer.created_at.isoformat(),
                customer.updated_at.isoformat(),
            ]
        last = chunk[-1].id
        for customer in chunk:  # keep memory bounded on large exports
            for child in (*customer.phones, *customer.tag_rows, customer):
                session.expunge(child)


def _csv(records: Iterator[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([excel_safe(v) if isinstance(v, str) else v for v in record])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _xlsx(records: Iterator[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("customers")
    sheet.append(list(COLUMNS))
    for record in records:
        cells = []
        for value in record:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text, never a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
