"""Building CSV and XLSX uploads for import tests, and waiting for a job to finish."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Sequence
from typing import Any

HEADERS_ZH = ["姓名", "手机", "邮箱", "公司", "地区", "来源", "标签", "备注"]


def csv_bytes(rows: Sequence[Sequence[Any]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def wait_until(read: Callable[[], dict], timeout: float = 60.0) -> dict:
    """Poll ``read()`` (a job as a dict) until its status is done or failed."""
    deadline = time.monotonic() + timeout
    while True:
        job = read()
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        time.sleep(0.05)
