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


def damaged_xlsx(rows: Sequence[Sequence[Any]], part: str) -> bytes:
    """A workbook with one damaged part: ``sheet`` cuts the first sheet's XML in the middle of
    its rows (the header still reads); ``content_types`` breaks ``[Content_Types].xml``."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if part == "sheet" and info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) * 2 // 3]
            elif part == "content_types" and info.filename == "[Content_Types].xml":
                data = data[: len(data) // 2] + b"<<broken"
            target.writestr(info, data)
    return out.getvalue()
