"""Screenshots of the dashboard for docs/: a service on loopback, a few groups scored through the page's own
form, the page in headless Chromium (the system's, through playwright).

    python scripts/dashboard_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ServiceThread  # noqa: E402
from service.core.config import Settings  # noqa: E402
from service.main import create_app  # noqa: E402

CHECKS = [{"name": "reference", "params": {"checks": [
    {"mode": "numeric", "reference": "12"}, {"mode": "regex", "pattern": "(?i)twelve"},
    {"mode": "regex", "pattern": "(?s)^.{0,40}$"}]}}]  # fmt: skip
COMPLETIONS = [
    "<answer>12</answer> <answer>The answer is twelve, since 3 x 4 = 12 and multiplication is commutative.</answer>",
    "<answer>12</answer>",
    "<answer>twelve</answer> <answer>13</answer>",
    "<answer>7</answer>",
    "<answer>Twelve (12), because three groups of four make twelve.</answer>",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    app = create_app(Settings(scorers=["reference"]))
    with ServiceThread(app) as url, sync_playwright() as playwright:
        for i in range(6):  # some traffic for the list and the live figures
            group = {"prompt": f"warm-up {i}", "completions": ["4", "5"], "scorers": [{"name": "reference", "params": {
                "checks": [{"mode": "numeric", "reference": "4"}]}}]}  # fmt: skip
            httpx.post(f"{url}/v1/score", json=group).raise_for_status()
        executable = shutil.which("chromium") or shutil.which("chromium-browser")
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 1050})
        page.goto(f"{url}/")
        page.fill("#form-prompt", "What is 3 x 4? Give one or two answers in <answer> tags.")
        page.fill("#form-completions", "\n---\n".join(COMPLETIONS))
        page.fill("#form-scorers", json.dumps(CHECKS))
        page.fill("#form-split", json.dumps({"mode": "tags", "max_answers": 2}))
        page.click("#form-submit")
        page.wait_for_selector("#simplex .simplex-cell")
        page.click("#heatmap .row-label >> nth=1")
        page.wait_for_timeout(3500)  # two readings of the live figures
        args.out.mkdir(exist_ok=True)
        page.screenshot(path=str(args.out / "dashboard.png"), full_page=True)
        browser.close()
    print(f"wrote {args.out / 'dashboard.png'}")


if __name__ == "__main__":
    main()
