"""The Space in a real headless Chromium (selenium + the system's chromium-driver): type the windows and the question,
click, see the reasoning stream and the answer, save screenshots; close the tab mid-generation and see it stop.

Skipped, with the reason, where Chromium, chromedriver or selenium is missing (`apt-get install chromium
chromium-driver`, `pip install selenium`); tests/test_space.py drives the same app through gradio_client regardless.
Screenshots go to $BIOREASON_SCREENSHOT_DIR when set, else the test's temporary folder.
"""

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from modeling_bioreason.hub import save_bioreason

app = pytest.importorskip("spaces_app.app")
screenshot = pytest.importorskip("spaces_app.screenshot")

_missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
try:
    import selenium  # noqa: F401
except ImportError:
    _missing.append("selenium (pip)")
pytestmark = pytest.mark.skipif(bool(_missing), reason="no headless browser: missing " + ", ".join(_missing)
                                + " (apt-get install chromium chromium-driver; pip install selenium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def url(tiny, tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setattr(app, "MAX_NEW_TOKENS", 16)
    folder = save_bioreason(*tiny, tmp_path_factory.mktemp("browser") / "model")
    demo = app.build_demo(app.BioReasonDemo(str(folder)))
    app.launch(demo, port=_free_port(), prevent_thread_lock=True, quiet=True)
    yield demo.local_url
    demo.close()
    patch.undo()


@pytest.fixture()
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("BIOREASON_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _generation_threads() -> int:
    return sum(thread.name == app.GENERATION_THREAD and thread.is_alive() for thread in threading.enumerate())


def test_browser_asks_the_tiny_model_and_shows_reasoning_and_answer(url, shots):
    reference, variant, question = screenshot.example_inputs(0, bp=60)
    with screenshot.chromium() as driver:
        result = screenshot.ask(driver, url, reference, variant, question, timeout=120)
        page = driver.find_element("css selector", "body").text
        driver.save_screenshot(str(shots / "space_tiny_model.png"))
    assert question[:40] in page and "reference 60 bp, variant 60 bp" in page
    assert result["reasoning"].strip()
    assert result["answer"].startswith(("Answer", "No answer"))
    assert (shots / "space_tiny_model.png").stat().st_size > 10_000


def test_browser_streams_reasoning_before_the_answer(url, shots, monkeypatch):
    """A scripted completion (the tiny model's is noise) shows what a visitor sees: reasoning first, then the answer."""
    completion = ["<think>\n", "The two windows differ at their centre, a single-base substitution. ",
                  "It lies in a conserved coding region of a gene on the ALS pathway, ",
                  "so the change is likely to disrupt the protein.\n", "</think>\n\n", "Answer: pathogenic"]

    def scripted(inputs, budget):
        for piece in completion:
            time.sleep(0.4)
            yield piece

    monkeypatch.setattr(app, "generate_stream", scripted)
    reference, variant, question = screenshot.example_inputs(3, bp=201)  # a ClinVar window, benign or pathogenic
    with screenshot.chromium() as driver:
        result = screenshot.ask(driver, url, reference, variant, question, timeout=60)
        driver.save_screenshot(str(shots / "space_answer.png"))
    assert result["streamed"], "the answer appeared before any reasoning was shown"
    assert "ALS pathway" in result["reasoning_while_streaming"] and "ALS pathway" in result["reasoning"]
    assert result["answer"].replace("\n", " ").startswith("Answer pathogenic")


def test_closing_the_tab_stops_the_generation(url, monkeypatch):
    monkeypatch.setattr(app, "MAX_NEW_TOKENS", 100_000)  # minutes of work unless the disconnect stops it
    reference, variant, question = screenshot.example_inputs(1, bp=60)
    with screenshot.chromium() as driver:
        screenshot.open_page(driver, url)
        screenshot.fill(driver, "reference", reference)
        screenshot.fill(driver, "variant", variant)
        screenshot.fill(driver, "question", question)
        driver.find_element("css selector", "#ask").click()
        deadline = time.monotonic() + 60
        while not _generation_threads() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _generation_threads() == 1
    deadline = time.monotonic() + 30  # the browser is gone: the server sees the disconnect and closes the request
    while _generation_threads() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _generation_threads() == 0, "generation kept running after the visitor left"


def test_a_refused_input_clears_the_last_answer(url, monkeypatch):
    """The page after a refused question shows the refusal, not the previous question's answer."""
    monkeypatch.setattr(app, "generate_stream", lambda inputs, budget: (p for p in ["<think>\nx\n</think>\n\n",
                                                                                    "Answer: benign"]))
    reference, variant, question = screenshot.example_inputs(3, bp=60)
    with screenshot.chromium() as driver:
        first = screenshot.ask(driver, url, reference, variant, question, timeout=60)
        assert "benign" in first["answer"]
        screenshot.fill(driver, "reference", "ACGTXYZ" * 5)
        driver.find_element("css selector", "#ask").click()
        deadline, toasts = time.monotonic() + 30, []
        while not any(toasts) and time.monotonic() < deadline:  # the toast appears, then its text
            time.sleep(0.1)
            toasts = [t.get_attribute("textContent") or "" for t in driver.find_elements("css selector", ".toast-body")]
        assert any("invalid character 'X'" in t for t in toasts), toasts
        assert not driver.find_element("css selector", "#answer").text.strip()
        assert not driver.find_elements("css selector", "#reasoning [data-testid='bot']")
