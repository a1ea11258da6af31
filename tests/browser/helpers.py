"""Screenshots kept for people to look at, and the accessibility check every page passes."""

import dataclasses
from contextlib import contextmanager
from pathlib import Path

from ddenterpriseapi.providers import build_registry

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


class Shots:
    """Screenshots of every page a test visits, kept for people to look at."""

    def __init__(self, page, test_name: str):
        self.page, self.directory = page, ARTIFACTS / test_name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def __call__(self, name: str, full_page: bool = True) -> Path:
        self.count += 1
        path = self.directory / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


README_ADDRESS = "http://localhost:8080/ddenterpriseapi"  # the address the README's setup uses


@contextmanager
def as_shipped(app):
    """The pages show the providers' real endpoints and the README's address, while the test's own requests went to
    the local test servers: the README's pictures show what an administrator sees."""
    runtime = app.extensions["dde_runtime"]
    shipped = dataclasses.replace(runtime, providers=build_registry({}), public_url=README_ADDRESS)
    app.extensions["dde_runtime"] = shipped
    try:
        yield
    finally:
        app.extensions["dde_runtime"] = runtime


def assert_accessible(page) -> None:
    """axe-core finds no violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
