"""The chat app in a real browser: `streamlit run` on loopback, driven by headless Chromium through Selenium.

Asks the seed question, checks that the answer is visible, opens the citation's whole document and checks
that the quote is highlighted (`<mark>`) and scrolled into view inside its box. Screenshots (PNG) go to
`test-artifacts/` at 1280x800 and at a phone-like 420x800.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import ElementClickInterceptedException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from qa import QA, Settings
from qa.answer_log import AnswerLog
from tests.conftest import SEED, SEED_QUESTION, missing
from tests.processes import free_port, server_process

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "ui" / "app.py"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def chromium() -> None:
    """Skip without Chromium and its driver (fail under CI), before any server starts."""
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        missing(f"{CHROMIUM} or {CHROMEDRIVER}", "apt install chromium chromium-driver")


@pytest.fixture(scope="module")
def app_url(app: tuple[str, Path]) -> str:
    return app[0]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app on a free loopback port, over an index that already holds the seed article; (URL, QA home)."""
    folder = tmp_path_factory.mktemp("ui-browser")
    settings = Settings(home=folder / "home", collection="ui-" + uuid.uuid4().hex[:8])
    QA(settings).ingest([SEED])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "QA_"))}
    env |= {"QA_HOME": str(settings.home), "QA_COLLECTION": settings.collection, "QA_BACKEND": "extractive"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
    ]  # fmt: skip
    with server_process("streamlit", command, f"{url}/_stcore/health", folder / "streamlit.log", cwd=ROOT, env=env):
        yield url, settings.home


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,800",
    ):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    _viewport(driver, 1280, 800)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def _viewport(driver: WebDriver, width: int, height: int) -> None:
    """Make the page itself (not the window around it) `width` x `height` CSS pixels."""
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def _click(driver: WebDriver, element: WebElement) -> None:
    """Click after scrolling the element to the middle, clear of the chat input pinned at the bottom (the chat
    may still be scrolling itself to its end, so a click that lands on something else is tried again)."""
    for attempt in range(5):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        time.sleep(0.2)
        try:
            element.click()
            return
        except ElementClickInterceptedException:
            if attempt == 4:
                raise


def _shot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    return path


def test_ask_the_seed_question_and_see_the_quote_highlighted(app_url: str, browser: WebDriver) -> None:
    driver = browser
    wait = WebDriverWait(driver, 30)
    driver.get(app_url)
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")))
    box.send_keys(SEED_QUESTION, Keys.ENTER)

    answer = wait.until(
        ec.visibility_of_element_located(
            (By.XPATH, "//*[@data-testid='stChatMessage']//p[contains(., 'Yunus-bek Yevkurov')]")
        )
    )
    assert "to oversee the training" in answer.text
    _shot(driver, "ui-answer-1280x800.png")
    meta = (
        "//*[@data-testid='stChatMessage']//*[@data-testid='stCaptionContainer'][contains(., 'extractive · no model')]"
    )
    assert wait.until(ec.visibility_of_element_located((By.XPATH, meta)))

    source = driver.find_element(By.XPATH, "//*[@data-testid='stExpander']//summary[contains(., '[1]')]")
    _click(driver, source)
    passage_mark = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".qa-passage mark")))
    assert "Yevkurov" in passage_mark.text
    toggle = driver.find_element(By.XPATH, "//*[@data-testid='stExpander']//label[contains(., 'whole document')]")
    _click(driver, toggle)
    mark = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[id$='-mark']")))
    assert mark.tag_name == "mark" and "Yunus-bek Yevkurov" in mark.text
    document = driver.find_element(By.CSS_SELECTOR, "[id$='-doc']")
    assert "North Korean" in document.text and "<mark" not in document.text

    # scrolled into view: the mark lies inside the box's visible part, and the box was scrolled to it
    wait.until(lambda d: d.execute_script("return arguments[0].scrollTop", document) > 0)
    inside = driver.execute_script(
        "const b = arguments[0].getBoundingClientRect(), m = arguments[1].getBoundingClientRect();"
        "return m.top >= b.top && m.top < b.bottom;",
        document,
        mark,
    )
    assert inside, "the highlighted quote is not scrolled into view inside the document box"
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", document)
    _shot(driver, "ui-document-1280x800.png")

    box = driver.find_element(By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")
    box.send_keys("What is a good recipe for sourdough bread?", Keys.ENTER)
    refusal = "//*[@data-testid='stChatMessage']//*[@data-testid='stAlert'][contains(., \"The documents don't say\")]"
    assert wait.until(ec.visibility_of_element_located((By.XPATH, refusal)))
    time.sleep(0.3)  # the chat scrolls to its end
    _shot(driver, "ui-refusal-1280x800.png")

    _viewport(driver, 420, 800)
    time.sleep(0.6)  # the text rewraps at the new width, the box scrolls to the quote again, the chat settles
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", mark)
    time.sleep(0.3)
    assert driver.execute_script(
        "const b = arguments[0].getBoundingClientRect(), m = arguments[1].getBoundingClientRect();"
        "return m.top >= b.top && m.bottom <= b.bottom && m.top >= 0 && m.bottom <= window.innerHeight;",
        document,
        mark,
    ), "at 420 px the highlighted quote is not in view"
    _shot(driver, "ui-document-420x800.png")
    title = driver.find_element(By.XPATH, "//*[self::h1 or self::h2][contains(., 'Ask your documents')]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", title)
    time.sleep(0.3)
    _shot(driver, "ui-top-420x800.png")


def test_rate_an_answer_and_find_it_in_the_exported_question_set(
    app: tuple[str, Path], browser: WebDriver, tmp_path: Path
) -> None:
    url, home = app
    driver = browser
    wait = WebDriverWait(driver, 30)
    driver.get(url)
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")))
    box.send_keys(SEED_QUESTION, Keys.ENTER)
    wait.until(
        ec.visibility_of_element_located(
            (By.XPATH, "//*[@data-testid='stChatMessage']//p[contains(., 'Yunus-bek Yevkurov')]")
        )
    )
    thumbs_up = "(//*[@data-testid='stChatMessage'])[last()]//button[@aria-label='Thumbs up']"
    _click(driver, wait.until(ec.element_to_be_clickable((By.XPATH, thumbs_up))))
    thanks = "//*[@data-testid='stChatMessage']//*[contains(., 'recorded as a good answer')]"
    assert wait.until(ec.visibility_of_element_located((By.XPATH, thanks)))
    _shot(driver, "ui-rated-1280x800.png")
    out = tmp_path / "rated.jsonl"
    assert AnswerLog.at(home).export(out) >= 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    rated = [row for row in rows if row["question"] == SEED_QUESTION]
    assert rated and rated[-1]["answerable"] and any("Yevkurov" in gold for gold in rated[-1]["answers"])
