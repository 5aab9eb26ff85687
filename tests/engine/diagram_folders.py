"""The hand-written diagrams of one folder of ``diagrams/``, deployed through the API as a
process owner would upload them, and the checks the rounds of unseen diagrams share."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import func, select

from crm.models import Deal, Notification
from dialflow.cli import main
from engine.models import ModelBundle, ProcessVersion
from tests.engine.conftest import DIAGRAMS, Actor


def upload(actor: Actor, *files: tuple[str, bytes]) -> Any:
    """``POST /process-models`` with ``(file name, content)`` pairs, one multipart field each."""
    return actor.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(content), name) for name, content in files]},
        content_type="multipart/form-data",
    )


class DiagramFolder:
    def __init__(self, name: str) -> None:
        self.path = DIAGRAMS / name

    def read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def edited(self, name: str, *changes: tuple[str, str]) -> bytes:
        """``name`` with each ``(old, new)`` replaced once (each ``old`` must occur once)."""
        text = self.read(name).decode()
        for old, new in changes:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        return text.encode()

    def deploy(self, actor: Actor, *names: str) -> dict[str, Any]:
        response = upload(actor, *[(name, self.read(name)) for name in names])
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    def line_of(self, fragment: str, name: str) -> int:
        return line_in(fragment, self.read(name))


def line_in(fragment: str, text: bytes | str) -> int:
    """The line of ``text`` on which ``fragment`` first stands."""
    decoded = text.decode("utf-8-sig") if isinstance(text, bytes) else text
    return decoded.count("\n", 0, decoded.index(fragment)) + 1


def nothing_deployed(db: Any) -> None:
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ModelBundle)) == 0
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 0


def notifications_of(db: Any, user: Actor) -> list[str]:
    with db() as session:
        return list(
            session.scalars(
                select(Notification.message)
                .where(Notification.user_id == user.user.id)
                .order_by(Notification.id)
            )
        )


def deals_of(db: Any, customer_id: int) -> list[tuple[str, str, str]]:
    """A customer's deals as (title, amount, stage), oldest first."""
    with db() as session:
        return [
            (deal.title, str(deal.amount), deal.stage.value)
            for deal in session.scalars(
                select(Deal).where(Deal.customer_id == customer_id).order_by(Deal.id)
            )
        ]


def cli_refuses(
    test_env: dict[str, str],
    folder: Path,
    files: list[tuple[str, bytes]],
    expected: list[tuple[str, str, str | int, list[str]]],
) -> None:
    """``dialflow deploy FOLDER`` with ``files`` in it exits 1 and prints one problem per
    ``expected`` (element, file, line or a fragment of it, words), with no traceback."""
    for name, content in files:
        (folder / name).write_bytes(content)
    result = CliRunner().invoke(main, ["deploy", str(folder)], env=test_env)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    printed = [line for line in result.stderr.splitlines() if line.startswith("  ")]
    assert len(printed) == len(expected), result.stderr
    contents = dict(files)
    for shown, (element, file, where, words) in zip(printed, expected, strict=True):
        line = where if isinstance(where, int) else line_in(where, contents[file])
        assert shown.startswith(f"  {file} {element + ' ' if element else ''}line {line}: "), shown
        for word in words:
            assert word in shown, (word, shown)
