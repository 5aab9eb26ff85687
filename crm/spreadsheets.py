"""Reading uploaded customer lists: CSV in the encodings people actually send, and XLSX.

Encoding detection is a strict decode cascade rather than a statistical detector
(charset-normalizer, chardet). The files we receive come from three places: Excel on a Chinese
Windows (“CSV” saves GBK, a subset of GB18030; “Unicode text” saves UTF-16 with a BOM), Excel or
WPS with “CSV UTF-8” (UTF-8 with a BOM), and other systems (UTF-8). A strict UTF-8 decode almost
never succeeds on GBK bytes, so trying BOMs, then UTF-8, then GB18030 is exact for those cases.
GB18030, however, accepts most byte sequences, so a Latin-1 or Shift-JIS file would decode into
plausible-looking nonsense; a sanity check refuses text whose non-ASCII characters are not
mostly common Chinese (GB2312 hanzi, CJK and full-width punctuation). A statistical detector
guesses on short files (a header and three rows) and may answer Big5 or cp1252 for GBK; a
wrong guess stores mojibake silently, which is exactly what must not happen. Anything the
cascade cannot place gets a clear error asking for UTF-8.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from dialflow.errors import DialflowError, InvalidInput

SNIFF_CHARS = 64 * 1024
# csv's default cell limit (131,072 characters) would fail the whole file on one long note;
# long cells are read and then refused per row by the field's own length check.
csv.field_size_limit(64 * 1024 * 1024)


class UnsupportedFile(DialflowError):
    """The upload is not a CSV or XLSX file we can read."""

    status = 415
    code = "unsupported_file_type"


class FileTooLarge(DialflowError):
    status = 413
    code = "file_too_large"


@dataclass(frozen=True)
class Sheet:
    """A table read from a file: unique column headers and an iterator factory for the rows."""

    headers: list[str]
    file_format: str
    encoding: str | None
    _rows: Any  # Callable[[], Iterator[tuple[int, list[str]]]]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """``(row_number, cells)`` per non-empty data row; row numbers count the header as 1,
        as a spreadsheet shows them. Cells are padded to the header's width."""
        return self._rows()


def file_format(file_name: str, data: bytes) -> str:
    """``csv`` or ``xlsx`` from the name and the first bytes; anything else is refused."""
    name = (file_name or "").lower().rsplit("/", 1)[-1]
    is_zip = data[:4] == b"PK\x03\x04"
    if name.endswith((".xlsx", ".xlsm")) or (is_zip and not name.endswith((".csv", ".txt"))):
        if not is_zip:
            raise UnsupportedFile("This .xlsx file is damaged or not an Excel workbook.")
        return "xlsx"
    if name.endswith(".xls") or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise UnsupportedFile(
            "Old Excel .xls files are not supported; save the sheet as .xlsx or CSV."
        )
    if name.endswith((".csv", ".txt", ".tsv")) or not name or "." not in name:
        return "csv"
    raise UnsupportedFile(
        f"{file_name!r} is not a CSV or XLSX file.", details=[{"field": "file", "message": name}]
    )


def decode_text(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was in; raises InvalidInput when unsure."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                raise _undecodable(f"the file starts like {encoding} but is not") from None
    if b"\x00" in data[:SNIFF_CHARS]:
        raise _undecodable("it contains binary data")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise _undecodable("it is neither UTF-8 nor GBK/GB18030") from None
    if not _looks_chinese(text):
        raise _undecodable("it is neither UTF-8 nor GBK/GB18030")
    return text, "gb18030"


def _looks_chinese(text: str) -> bool:
    """True when the non-ASCII characters are mostly everyday Chinese. Latin-1 or Shift-JIS
    bytes read as GB18030 land all over the code space (rare hanzi, Yi, private use…)."""
    foreign = [ch for ch in text if ord(ch) > 0x7F]
    if not foreign:
        return True
    common = 0
    for ch in foreign:
        code = ord(ch)
        if 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF or 0x2010 <= code <= 0x2027:
            common += 1
        elif 0x4E00 <= code <= 0x9FFF:
            try:
                ch.encode("gb2312")
                common += 1
            except UnicodeEncodeError:
                common += 0.5  # a valid but rarer hanzi (names have some)
        elif ch in "·×÷°±¥€£":
            common += 1
    return common / len(foreign) >= 0.9


def _undecodable(reason: str) -> InvalidInput:
    return InvalidInput(
        f"Could not read the file's text encoding ({reason}). "
        "Save it as “CSV UTF-8” (Excel: File › Save As › CSV UTF-8) and upload it again.",
        code="unknown_encoding",
        details=[{"field": "file", "message": reason}],
    )


def read_sheet(file_name: str, data: bytes) -> Sheet:
    """Open a CSV or XLSX upload. File-level problems raise here, before any row is used."""
    fmt = file_format(file_name, data)
    if not data:
        raise InvalidInput("The file is empty.", code="empty_file")
    if fmt == "xlsx":
        return _xlsx_sheet(data)
    return _csv_sheet(data)


def _csv_sheet(data: bytes) -> Sheet:
    text, encoding = decode_text(data)
    dialect = _sniff(text[:SNIFF_CHARS])

    def records() -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        try:
            for cells in reader:
                yield reader.line_num, cells
        except csv.Error as exc:
            raise InvalidInput(
                f"The CSV file is malformed near line {reader.line_num}: {exc}.",
                code="malformed_file",
            ) from None

    return _sheet(records, "csv", encoding)


def _sniff(sample: str) -> type[csv.Dialect] | csv.Dialect:
    first_line = sample.split("\n", 1)[0]
    try:
        dialect = csv.Sniffer().sniff(first_line, delimiters=",;\t|")
    except csv.Error:
        return csv.excel_tab if first_line.count("\t") > first_line.count(",") else csv.excel
    return csv.excel_tab if dialect.delimiter == "\t" else _with_delimiter(dialect.delimiter)


def _with_delimiter(delimiter: str) -> type[csv.Dialect]:
    return type("Upload", (csv.excel,), {"delimiter": delimiter})


def _xlsx_sheet(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        worksheets = workbook.worksheets
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise UnsupportedFile(f"This .xlsx file could not be opened: {exc}.") from None
    except DialflowError:
        raise
    except Exception as exc:  # damaged XML inside the zip: ElementTree's or lxml's errors, …
        raise _damaged_workbook(exc, None) from None
    if not worksheets:
        raise InvalidInput("The workbook has no sheet.", code="empty_file")
    sheet = worksheets[0]

    def records() -> Iterator[tuple[int, list[str]]]:
        number = 0
        rows = sheet.iter_rows(values_only=True)
        while True:
            try:
                values = next(rows, None)
            except Exception as exc:  # a truncated or invalid sheet XML fails while reading
                raise _damaged_workbook(exc, number + 1) from None
            if values is None:
                return
            number += 1
            yield number, [_cell_text(v) for v in values]

    return _sheet(records, "xlsx", None)


def _damaged_workbook(exc: Exception, row: int | None) -> InvalidInput:
    where = f" near row {row}" if row else ""
    return InvalidInput(
        f"This .xlsx file is damaged{where} and cannot be read ({type(exc).__name__}). "
        "Open it in Excel or WPS, save it again and upload it again.",
        code="malformed_file",
        details=[{"field": "file", "message": str(exc)[:200]}],
    )


def _cell_text(value: Any) -> str:
    """Excel keeps phone numbers as numbers (13800138000.0) and dates as datetimes."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _sheet(records: Any, fmt: str, encoding: str | None) -> Sheet:
    """The first non-empty row is the header; blank rows are skipped everywhere."""
    header_number, header = 0, []
    for number, cells in records():
        if any(c.strip() for c in cells):
            header_number, header = number, cells
            break
    if not header:
        raise InvalidInput("The file has no header row and no data.", code="empty_file")
    while header and not header[-1].strip():
        header.pop()
    headers = _unique([h.strip().lstrip("\ufeff") for h in header])
    width = len(headers)

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, cells in records():
            if number <= header_number or not any(str(c).strip() for c in cells):
                continue
            while len(cells) > width and not cells[-1].strip():
                cells = cells[:-1]
            yield number, cells + [""] * (width - len(cells))

    return Sheet(headers=headers, file_format=fmt, encoding=encoding, _rows=rows)


def _unique(headers: list[str]) -> list[str]:
    """Two columns called 电话 become 电话 and 电话 (2); an empty header becomes its position."""
    seen: dict[str, int] = {}
    result = []
    for position, header in enumerate(headers, start=1):
        name = header or f"#{position}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        result.append(name)
    return result


def excel_safe(value: Any) -> str:
    """Cells starting with = + - @ run as formulas when Excel opens a CSV; prefix them with a
    quote (numbers such as +8613800138000 stay as they are)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@"):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text
