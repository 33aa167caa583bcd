"""The dashboard end to end in a real headless Chromium (Debian's, driven by playwright with the system
executable; no browser download): the token prompt, scoring a group from the form, the heatmap, winner plot,
simplex and advantage bars drawn with the right number of elements, answers shown as text, errors shown."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from service.core.config import Settings
from service.main import create_app
from tests.conftest import LiveServer
from tests.service.test_dashboard import big_group

TOKEN = "dash-token"
THREE_CHECKS = [{"name": "reference", "params": {"checks": [
    {"mode": "numeric", "reference": "4"}, {"mode": "exact", "reference": "four"},
    {"mode": "numeric", "reference": "5"}]}}]  # fmt: skip


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed (apt-get install chromium; scripts/setup-dev does it)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium's own sandbox cannot start as root in a container
        launched = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def service() -> Iterator[LiveServer]:
    with LiveServer(create_app(Settings(scorers=["reference"], tokens=[TOKEN]))) as server:
        yield server


@pytest.fixture
def page(browser: Browser, service: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(f"{service.url}/")
    opened.wait_for_selector("#token-dialog[open]")  # the API said 401: the page asks for the token
    opened.fill("#token-input", TOKEN)
    opened.click("#token-form button")
    yield opened
    context.close()
    assert errors == []  # no script error on the page


def score_from_form(page: Page, completions: list[str], scorers: object, split: object) -> None:
    page.fill("#form-completions", "\n---\n".join(completions))
    page.fill("#form-scorers", json.dumps(scorers))
    page.fill("#form-split", json.dumps(split))
    page.click("#form-submit")


def test_score_a_group_from_the_form_and_see_it_drawn(page: Page, tmp_path: Path) -> None:
    completions = ["<answer>4</answer> <answer>5</answer>", "<answer>5</answer>",
                   "<answer>4</answer> <answer>four</answer>", "<answer>x</answer>"]  # fmt: skip
    score_from_form(page, completions, THREE_CHECKS, {"mode": "tags", "max_answers": 2})
    page.wait_for_selector("#heatmap rect.cell")
    answers, d = 6, 3
    assert page.locator("#heatmap rect.cell").count() == answers * d
    assert page.locator("#winners rect.win-bar").count() == answers
    assert page.locator("#advantages rect.adv-vpo").count() == 4
    assert page.locator("#advantages rect.adv-scalar").count() == 4
    assert page.locator("#simplex .simplex-cell").count() == 24 * 24  # d = 3: the triangle, 24 cells a side
    assert page.locator("#pareto circle.pareto-point").count() == answers
    # rows: "4" (1, 0, 0) twice, "5" (0, 0, 1) twice, "four" (0, 1, 0), "x" (0, 0, 0): only "x" is dominated
    assert page.locator("#pareto circle.optimal").count() == 5
    widths = [
        float(w)
        for w in page.locator("#winners rect.win-bar").evaluate_all("bs => bs.map(b => b.getAttribute('width'))")
    ]
    track = float(page.get_attribute("#winners rect.win-track >> nth=0", "width") or 0)
    assert sum(widths) == pytest.approx(track, abs=0.5) and track > 0  # the shares add up to one whole bar
    assert "Scored: set scores" in page.text_content("#form-message")
    assert page.locator("#recent li").count() >= 1
    page.click("#heatmap .row-label >> nth=4")  # c2·a1, "four"
    assert "four" in page.text_content("#answer-text")
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_two_components_draw_the_segment_and_text_stays_text(page: Page) -> None:
    hostile = '<img src=x onerror="window.pwned=1">4'
    two = [{"name": "reference", "params": {"checks": [{"mode": "numeric", "reference": "4"},
                                                        {"mode": "regex", "pattern": "img"}]}}]  # fmt: skip
    score_from_form(page, [hostile, "5"], two, {})
    page.wait_for_selector("#simplex .simplex-cell")
    assert page.locator("#simplex .simplex-cell").count() == 100  # d = 2: a segment of 100 cells
    assert page.locator("#heatmap rect.cell").count() == 2 * 2
    page.click("#heatmap .row-label >> nth=0")
    assert hostile in page.text_content("#answer-text")
    assert page.locator("img").count() == 0 and page.evaluate("window.pwned") is None


def test_errors_from_the_form_and_the_api_are_shown(page: Page) -> None:
    page.fill("#form-scorers", "[{not json")
    page.click("#form-submit")
    page.wait_for_selector("#form-message.error")
    assert "scorers: not JSON" in page.text_content("#form-message")
    score_from_form(page, ["4"], [{"name": "no-such-scorer"}], {})
    page.wait_for_function("document.querySelector('#form-message').textContent.includes('unknown scorer')")


def test_a_large_group_is_drawn_in_part(page: Page, service: LiveServer) -> None:
    body = big_group(64, 8, 12)  # 512 answers x 12 components
    response = httpx.post(f"{service.url}/v1/score", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    page.click("#recent li:has-text('big')")  # the list refreshes every 3 s
    page.wait_for_selector("#heatmap-note:not([hidden])")
    assert page.locator("#heatmap rect.cell").count() == 150 * 12
    assert page.locator("#winners rect.win-bar").count() == 150
    assert "first 150 of 512 answers" in page.text_content("#heatmap-note")
