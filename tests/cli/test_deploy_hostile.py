"""``dialflow deploy`` on what a folder may hold besides diagrams: one clear line on stderr and a
non-zero exit, never a traceback, never an unbounded read, nothing stored."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from dialflow.cli import main
from engine.models import ModelBundle
from tests.engine.conftest import DIAGRAMS

GOOD = (DIAGRAMS / "unseen" / "camunda7_callback.bpmn").read_bytes()
OTHER = GOOD.replace(b'name="Callback outcome"', b'name="Other outcome"')


@pytest.fixture
def deploy(test_env, runtime):
    def _deploy(*paths: str | Path):
        return CliRunner().invoke(main, ["deploy", *map(str, paths)], env=test_env)

    return _deploy


def assert_refused(result, db, *fragments: str) -> None:
    assert result.exit_code != 0, result.output
    assert result.stderr.startswith("error:"), result.stderr
    assert isinstance(result.exception, SystemExit), result.exception  # no other exception
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ModelBundle)) == 0


def test_two_files_of_one_name_in_subfolders_are_refused(deploy, db, tmp_path):
    """One silently replaced the other."""
    for folder, content in (("east", GOOD), ("west", OTHER)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "callback.bpmn").write_bytes(content)
    assert_refused(deploy(tmp_path), db, "callback.bpmn: two files of this name")


def test_a_file_name_that_is_no_utf8_is_refused(deploy, db, tmp_path):
    """It was a UnicodeEncodeError traceback from the content hash."""
    with open(os.fsencode(tmp_path) + b"/call\xff.bpmn", "wb") as file:
        file.write(GOOD)
    assert_refused(deploy(tmp_path), db, "call\ufffd.bpmn: the file name is not UTF-8")


def test_a_file_that_cannot_be_opened_is_refused(deploy, db, tmp_path):
    """A socket (as an unreadable file, which root can read anyway): an OSError traceback."""
    path = tmp_path / "model.bpmn"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        assert_refused(deploy(path), db, "model.bpmn: cannot be read")
    finally:
        server.close()


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_an_endless_file_is_read_no_further_than_the_limit(deploy, db):
    """``read_bytes()`` of /dev/zero ran until MemoryError."""
    started = time.perf_counter()
    assert_refused(deploy("/dev/zero"), db, "larger than 5120 KB")
    assert time.perf_counter() - started < 10


def test_a_folder_of_a_gbk_diagram_deploys(deploy, db, tmp_path):
    gbk = (
        GOOD.replace(b'encoding="UTF-8"', b'encoding="GBK"')
        .decode()
        .replace("Callback outcome", "回访结果")
        .encode("gbk")
    )
    (tmp_path / "回访.bpmn").write_bytes(gbk)
    result = deploy(tmp_path)
    assert result.exit_code == 0, result.output
    assert "deployed: c7_callback_outcome v1" in result.stdout
