"""The built report in a real browser, from a file:// URL, and its links on disk.

The site is published as static files and is often opened straight from disk,
so every relative link and anchor must resolve without a server.  Headless
Chromium renders the matrix and a claim page (after the theme's scripts run)
and saves screenshots under ``reports/artifacts/screenshots/`` for people to
look at.  Without Chromium the browser tests skip locally but fail in CI
(``CI=true``), where it is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from report_helpers import SCREENSHOTS, Page, html_files, two_run_site

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
EXTERNAL = ("http:", "https:", "mailto:", "data:", "javascript:")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_run_site(tmp_path_factory)


@pytest.fixture(scope="session")
def chromium() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed, but CI=true: the browser tests must run in CI")
    pytest.skip("chromium is not installed (apt-get install chromium); the browser tests run in CI")


def run_chromium(chromium: str, tmp_path: Path, *args: str) -> str:
    profile = tmp_path / "chromium-profile"
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def dump_dom(chromium: str, tmp_path: Path, page: Path) -> str:
    return run_chromium(chromium, tmp_path, "--virtual-time-budget=2000", "--dump-dom", page.as_uri())


def screenshot(chromium: str, tmp_path: Path, page: Path, name: str, height: int = 2400) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    target.unlink(missing_ok=True)
    run_chromium(chromium, tmp_path, f"--window-size=1280,{height}", f"--screenshot={target}", page.as_uri())
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return target


def test_every_relative_link_and_anchor_resolves(site: Path) -> None:
    pages = {path.resolve(): Page(path) for path in html_files(site)}
    broken = []
    checked = 0
    for path, page in pages.items():
        for link in page.links:
            if not link or link.startswith(EXTERNAL) or link.startswith("//"):
                continue
            parts = urlsplit(link)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            checked += 1
            if not target.exists():
                broken.append(f"{path.name}: {link} (no file {target})")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else Page(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.name}: {link} (no anchor)")
    assert checked > 100
    assert not broken, "\n".join(broken)


def test_links_are_relative_so_the_site_works_from_disk(site: Path) -> None:
    for path in html_files(site):
        for link in Page(path).links:
            assert not link.startswith(("/", "file:")), f"{path.name}: {link}"


def test_matrix_renders_in_chromium(chromium: str, site: Path, tmp_path: Path) -> None:
    dom = dump_dom(chromium, tmp_path, site / "index.html")
    assert "Transform conformance report" in dom
    assert "✓ 4 pass" in dom and "✗ 1 fail" in dom and "○ 1 skip" in dom and "⊘ 1 xfail" in dom
    assert "cpu-local" in dom and "gpu-box" in dom
    assert "checks.html#cell-torch-hessian-float32" in dom
    screenshot(chromium, tmp_path, site / "index.html", "index")


def test_claim_page_renders_in_chromium(chromium: str, site: Path, tmp_path: Path) -> None:
    dom = dump_dom(chromium, tmp_path, site / "article.html")
    assert "torch.func.grad_and_value は (値, 勾配) のタプルを返します。" in dom
    assert "torch.func.grad_and_value returns the tuple (value, gradient)." in dom
    assert "✗ false" in dom and "◐ partly" in dom and "? unverifiable" in dom
    assert "sd-tab-set" in dom and "highlight-diff" in dom
    screenshot(chromium, tmp_path, site / "article.html", "article", height=3200)


@pytest.mark.parametrize("page", ["divergences", "mismatches", "plots", "environment", "checks"])
def test_screenshots_of_the_other_pages(chromium: str, site: Path, tmp_path: Path, page: str) -> None:
    screenshot(chromium, tmp_path, site / f"{page}.html", page)
