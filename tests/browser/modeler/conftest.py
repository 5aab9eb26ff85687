"""Browser fixtures for the modeler tests: an English page at a desktop size and a
screenshot helper. The live server and the one Chromium per test process come from
``tests/browser/conftest.py`` (two Playwright instances in one process would collide)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OUTPUT = Path(__file__).resolve().parents[1] / "output"


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("console", lambda message: print(f"browser console {message.type}: {message.text}"))
    page.on("pageerror", lambda error: print(f"browser page error: {error}"))
    yield page
    context.close()


@pytest.fixture
def screenshot(page: Any) -> Any:
    OUTPUT.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = OUTPUT / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take
