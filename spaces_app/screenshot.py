"""Drive the Space in headless Chromium and save a screenshot, so its layout and behaviour are seen, not assumed.

    python spaces_app/screenshot.py --model runs/quickstart/sft/final --out space.png          # the idle page
    python spaces_app/screenshot.py --model runs/quickstart/sft/final --ask --out space.png    # fill, ask, wait

Starts the app on a free loopback port (or uses `--url` of a running one), opens it in headless Chromium through
selenium, and with `--ask` types the reference and variant windows of a real KEGG example (the central `--bp` bases)
and its question, clicks "Ask BioReason", waits for the streamed reasoning and the answer, then captures the page.
Needs Debian's `chromium` and `chromium-driver` (`apt-get install chromium chromium-driver`) and `pip install selenium`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_chromium() -> tuple[str, str]:
    """(browser, driver) paths; a SystemExit naming what to install when either is missing."""
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        raise SystemExit("Headless Chromium needs `apt-get install chromium chromium-driver` (missing: "
                         + ", ".join(n for n, p in (("chromium", browser), ("chromedriver", driver)) if p is None)
                         + ").")
    return browser, driver


@contextmanager
def chromium(size: str = "1440,1400"):
    """A headless Chromium driven by selenium (the system's browser and driver: nothing is downloaded)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as error:
        raise SystemExit("Driving the browser needs selenium: pip install selenium") from error
    browser, driver_path = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                 f"--window-size={size}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def running_app(model: str, timeout: float = 180, env: dict | None = None):
    """Start `app.py --model <model>` on a free port; yields its URL and stops it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    app = subprocess.Popen([sys.executable, str(HERE / "app.py"), "--model", model, "--port", str(port)],
                           env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})
    try:
        deadline = time.time() + timeout
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError as error:
                if app.poll() is not None:
                    raise SystemExit("The app exited before serving its page.") from error
                if time.time() > deadline:
                    raise SystemExit(f"The app did not answer on {url} within {timeout:.0f} s.") from error
                time.sleep(1)
        yield url
    finally:
        app.terminate()
        app.wait(timeout=30)


def example_inputs(index: int = 0, bp: int = 201) -> tuple[str, str, str]:
    """(reference, variant, question) of a shipped example, windows cut to their central `bp` bases."""
    row = json.loads((HERE / "examples" / "examples.json").read_text(encoding="utf-8"))[index]

    def central(sequence: str) -> str:
        start = max(0, (len(sequence) - bp) // 2)
        return sequence[start:start + bp] if bp > 0 else sequence

    return central(row["reference"]), central(row["variant"]), row["question"]


def fill(driver, elem_id: str, text: str) -> None:
    """Type `text` into the textbox `#elem_id` (long texts are pasted: set, then an input event, as a paste does)."""
    box = driver.find_element("css selector", f"#{elem_id} textarea")
    box.clear()
    if len(text) <= 300:
        box.send_keys(text)
    else:
        driver.execute_script("arguments[0].value = arguments[1];"
                              "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", box, text)
        box.send_keys(" ")  # a real keystroke after the paste; the Space strips surrounding whitespace


def open_page(driver, url: str, timeout: float = 60) -> None:
    """Load the Space and wait until its form is on the page."""
    try:  # a development tool: the Space itself does not install selenium
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError as error:
        raise SystemExit("Driving the browser needs selenium: pip install selenium") from error

    driver.get(url)
    WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: d.find_elements("css selector", "#reference textarea"))


def ask(driver, url: str, reference: str, variant: str, question: str, timeout: float = 180) -> dict:
    """
    Open the Space, type the two windows and the question, click "Ask BioReason" and wait for the answer.

    Returns `{"reasoning", "answer", "streamed", "reasoning_while_streaming"}`: the assistant message (reasoning block
    opened) and the answer panel as the page shows them at the end, whether the reasoning panel showed text before the
    answer appeared, and the longest text it showed then.
    """
    open_page(driver, url, timeout)
    fill(driver, "reference", reference)
    fill(driver, "variant", variant)
    fill(driver, "question", question)
    driver.find_element("css selector", "#ask").click()

    def bot_text(d) -> str:
        # The chatbot shows the reasoning (a collapsible thought) and the rest as separate bot bubbles.
        # textContent: a collapsed thought is still on the page, only folded away.
        return "\n".join(m.get_attribute("textContent") or "" for m in
                         d.find_elements("css selector", "#reasoning [data-testid='bot']"))

    def answer_text(d) -> str:
        return d.find_element("css selector", "#answer").text

    def finished(d) -> bool:
        return ("Answer" in answer_text(d) or "No answer" in answer_text(d)
                or bool(d.find_elements("css selector", ".toast-body")))

    seen_before_answer, deadline = "", time.monotonic() + timeout
    while not finished(driver):  # watch the reasoning stream in while the answer is pending
        if time.monotonic() > deadline:
            raise TimeoutError(f"No answer on the page within {timeout:.0f} s.")
        text = bot_text(driver)
        if len(text) > len(seen_before_answer) and not answer_text(driver).strip():
            seen_before_answer = text
        time.sleep(0.1)
    errors = driver.find_elements("css selector", ".toast-body")
    if errors and not answer_text(driver).strip():
        raise RuntimeError(f"The Space showed an error: {errors[0].text}")
    # Open the collapsed reasoning block, as a visitor would, so that it is on the page (and in a screenshot).
    for toggle in driver.find_elements("xpath", "//*[@id='reasoning']//*[normalize-space(text())='Reasoning']"):
        try:
            toggle.click()
            break
        except Exception:  # not clickable (another element of that text); try the next
            continue
    time.sleep(0.5)
    driver.execute_script("window.scrollTo(0, 0)")
    return {"reasoning": bot_text(driver), "answer": answer_text(driver), "streamed": bool(seen_before_answer.strip()),
            "reasoning_while_streaming": seen_before_answer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("BIOREASON_MODEL", "runs/quickstart/sft/final"))
    parser.add_argument("--url", help="drive a Space that is already running instead of starting app.py")
    parser.add_argument("--out", default="space.png")
    parser.add_argument("--size", default="1440,1400", help="window size WIDTH,HEIGHT")
    parser.add_argument("--ask", action="store_true", help="fill an example, ask, and wait for the answer first")
    parser.add_argument("--example", type=int, default=0, help="example row (0-2 KEGG, 3-4 ClinVar)")
    parser.add_argument("--bp", type=int, default=201, help="central bases of each window to type (0 = all)")
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    find_chromium()

    @contextmanager
    def target():
        if args.url:
            yield args.url
        else:
            with running_app(args.model, args.timeout) as url:
                yield url

    with target() as url, chromium(args.size) as driver:
        if args.ask:
            result = ask(driver, url, *example_inputs(args.example, args.bp), timeout=args.timeout)
            print(f"Answer panel: {result['answer']!r}; reasoning shown: {len(result['reasoning'])} characters")
        else:
            driver.get(url)
            time.sleep(3)
        driver.save_screenshot(args.out)
    print(f"Saved {args.out}")


if __name__ == "__main__":
    main()
