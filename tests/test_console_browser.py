"""The admin console in a real browser: Debian's Chromium driven by Selenium through chromedriver, end to
end against a meetadmin server process on 127.0.0.1 (a fresh database per test).

Screenshots of every step are kept under build/screenshots/ (an artifact of the run). axe-core (npm)
is injected into each page and must find no serious or critical accessibility violation.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoAlertPresentException,
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import Engine, text

from tests.conftest import load_world
from tests.console_support import XSS_TITLE, console_world
from tests.live import free_port, running, uvicorn_command
from tests.worlds import ADMIN, SITE, auth

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "build" / "screenshots"
NPM_CACHE = REPO / ".cache" / "npm"
AXE = NPM_CACHE / "node_modules" / "axe-core" / "axe.min.js"
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,900",
]
MARCUS = "marcus.hoffmann@example.com"
JOHN_EMAIL = "john.andersen@example.com"
CONTROL = "browser-control-token"
WAIT = 60  # seconds a step may take before the test gives up (a bound, not a speed assertion)


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's axe.min.js, installed with npm into .cache/npm when missing (one worker at a time)."""
    NPM_CACHE.mkdir(parents=True, exist_ok=True)
    with (NPM_CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not AXE.exists():
            subprocess.run(
                [
                    "npm",
                    "install",
                    "--silent",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(NPM_CACHE),
                    "axe-core@4",
                ],
                check=True,
            )
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def server(database_url: str, engine: Engine) -> Iterator[str]:
    """``meetadmin``'s app under uvicorn on a free port of 127.0.0.1, on the test's seeded database."""
    load_world(engine, console_world())
    port = free_port()
    env = {**os.environ, "MEETADMIN_DATABASE_URL": database_url, "MEETADMIN_CONTROL_TOKEN": CONTROL}
    with running(uvicorn_command(port), env, port, tries=300) as base:
        yield base


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    path = tmp_path / "downloads"
    path.mkdir()
    return path


@pytest.fixture
def browser(tmp_path: Path, downloads: Path) -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()


class Console:
    """The browser on the console, with the steps the tests share."""

    def __init__(self, driver: WebDriver, base: str, name: str, axe: str) -> None:
        self.driver, self.base, self.name, self.axe = driver, base, name, axe
        self.shots = 0

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def until(self, condition: Callable[[WebDriver], Any]) -> Any:
        # While a page is replaced, Chromium may also answer a look-up with a plain WebDriverException
        # ("Node with given id does not belong to the document"): a moment to wait through, like a
        # stale element. Anything that stays wrong still fails, as a timeout.
        ignored = (StaleElementReferenceException, NoSuchElementException, WebDriverException)
        return WebDriverWait(self.driver, WAIT, ignored_exceptions=ignored).until(condition)

    def see(self, words: str) -> None:
        self.until(lambda d: words in d.find_element(By.TAG_NAME, "main").text)

    def main_text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "main").text)

    def shot(self, label: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = SHOTS / f"{self.name}-{self.shots:02d}-{label}.png"
        self.driver.save_screenshot(str(path))
        return path

    def sign_in(self, token: str = ADMIN) -> None:
        self.open("/console")
        self.until(lambda d: "/console/login" in d.current_url)
        self.driver.find_element(By.ID, "token").send_keys(token)
        self.driver.find_element(By.CSS_SELECTOR, "form[action='/console/login'] button").click()
        self.until(lambda d: d.current_url.rstrip("/").endswith("/console"))

    def accessibility_problems(self) -> list[str]:
        """axe-core's serious and critical violations on the page shown."""
        self.driver.execute_script(self.axe)
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
            " help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))), e => done([{id: 'axe-error',"
            " impact: 'critical', help: String(e), nodes: []}]));"
        )
        return [
            f"{self.driver.current_url}: {v['id']} ({v['impact']}): {v['help']} at {v['nodes'][:3]}"
            for v in result
            if v["impact"] in ("serious", "critical")
        ]


@pytest.fixture
def console(browser: WebDriver, server: str, axe_source: str, request: pytest.FixtureRequest) -> Console:
    browser.set_script_timeout(WAIT)
    name = request.node.name.replace("[", "-").replace("]", "").replace("test_", "")
    return Console(browser, server, name, axe_source)


def _plan(console: Console, from_email: str, to_email: str) -> None:
    console.open("/console/offboard")
    console.driver.find_element(By.ID, "from").send_keys(from_email)
    console.driver.find_element(By.ID, "to").send_keys(to_email)
    Select(console.driver.find_element(By.ID, "site")).select_by_visible_text(SITE)
    console.driver.find_element(By.XPATH, "//button[normalize-space()='Show the plan']").click()
    console.see("The plan:")


def test_offboard_a_person_see_the_refusal_and_download_the_report(console: Console, downloads: Path) -> None:
    console.sign_in()
    console.shot("overview")
    _plan(console, MARCUS, JOHN_EMAIL)
    row = console.driver.find_element(By.XPATH, "//tr[td[contains(., 'Happening now')]]")
    assert "refused (409)" in row.text and "in progress" in row.text  # the refused meeting, and why
    console.shot("plan")
    console.driver.find_element(By.ID, "confirm").click()
    console.driver.find_element(By.XPATH, "//button[normalize-space()='Reassign the meetings']").click()
    console.see("Finished.")  # htmx ran the batches and came back to the job's page
    result = console.driver.find_element(
        By.XPATH, "//table[@class='results']//tr[td[contains(., 'Happening now')]]"
    )
    assert "refused (409)" in result.text and "in progress" in result.text
    assert (
        "moved"
        in console.driver.find_element(
            By.XPATH, "//table[@class='results']//tr[td[contains(., 'Quarterly planning')]]"
        ).text
    )
    console.shot("result")

    console.driver.find_element(By.PARTIAL_LINK_TEXT, "Download the report").click()
    report = console.until(lambda d: next((p for p in downloads.glob("offboard-*.csv")), None))
    rows = {r["title"]: r for r in csv.DictReader(io.StringIO(report.read_text(encoding="utf-8")))}
    assert rows["Quarterly planning"]["result"] == "moved"
    assert rows["Happening now"]["result"] == "refused" and "in progress" in rows["Happening now"]["reason"]


def test_refresh_rooms_from_a_csv_with_one_bad_line(console: Console, tmp_path: Path) -> None:
    console.sign_in()
    upload = tmp_path / "rooms.csv"
    upload.write_text(
        "email,personalMeetingRoomId\n"
        f"{JOHN_EMAIL},prJOHN000001\n"
        "ghost@example.com,prGHOST00001\n"
        f"{MARCUS},prMARCUS0001\n",
        encoding="utf-8",
    )
    console.open("/console/rooms")
    Select(console.driver.find_element(By.ID, "site")).select_by_visible_text(SITE)
    console.driver.find_element(By.ID, "file").send_keys(str(upload))
    console.driver.find_element(By.XPATH, "//button[normalize-space()='Check']").click()
    console.see("1 line with problems")
    alert = console.driver.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "line 3 (ghost@example.com)" in alert and "line 2" not in alert and "line 4" not in alert
    console.shot("bad-line")

    textarea = console.driver.find_element(By.ID, "csv")
    textarea.clear()
    textarea.send_keys(f"email,personalMeetingRoomId\n{JOHN_EMAIL},prJOHN000001\n{MARCUS},prMARCUS0001\n")
    console.driver.find_element(By.ID, "file").clear()
    console.driver.find_element(By.XPATH, "//button[normalize-space()='Check']").click()
    console.see("Ready: 2 people")
    console.driver.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Refresh 2')]").click()
    console.see("Finished.")
    john = console.driver.find_element(By.XPATH, f"//tr[td[normalize-space()='{JOHN_EMAIL}']]").text
    assert "prABCD23670651" in john and "prJOHN000001" in john and "refreshed" in john  # old and new
    console.shot("result")


def test_a_meeting_title_made_of_html_shows_as_text(console: Console) -> None:
    console.sign_in()
    _plan(console, MARCUS, JOHN_EMAIL)
    cell = console.driver.find_element(By.XPATH, "//td[contains(., 'onerror')]")
    assert XSS_TITLE in cell.text
    assert console.driver.find_elements(By.CSS_SELECTOR, "main img") == []
    with pytest.raises(NoAlertPresentException):
        console.driver.switch_to.alert.text  # noqa: B018
    console.shot("escaped-title")


def test_a_form_posted_without_its_csrf_token_is_refused(console: Console, engine: Engine) -> None:
    console.sign_in()
    _plan(console, MARCUS, JOHN_EMAIL)
    console.driver.execute_script(
        "document.querySelector('form.confirm input[name=csrf_token]').remove();"
        "document.getElementById('confirm').checked = true;"
        "document.querySelector('form.confirm').submit();"
    )
    console.see("CSRF")
    console.shot("refused")
    with engine.connect() as conn:
        moved = conn.execute(text("SELECT count(*) FROM audit_events WHERE action = 'reassignHost'")).scalar()
    assert moved == 0


def test_an_expired_session_goes_back_to_sign_in(console: Console, engine: Engine) -> None:
    console.sign_in()
    console.open("/console/people")
    console.see("Marcus Hoffmann")
    with engine.begin() as conn:
        conn.execute(text("UPDATE console_sessions SET expires = created"))
    console.open("/console/people")
    console.until(lambda d: "/console/login" in d.current_url)
    assert console.driver.find_element(By.ID, "token")
    console.shot("signed-out")


def _tab_to(console: Console, element_id: str, limit: int = 40) -> None:
    for _ in range(limit):
        ActionChains(console.driver).send_keys(Keys.TAB).perform()
        if console.driver.switch_to.active_element.get_attribute("id") == element_id:
            return
    raise AssertionError(f"#{element_id} cannot be reached with the Tab key")


def _type(console: Console, keys: str) -> None:
    ActionChains(console.driver).send_keys(keys).perform()


def test_the_offboarding_works_with_the_keyboard_alone(console: Console) -> None:
    console.open("/console")
    console.until(lambda d: "/console/login" in d.current_url)
    _type(console, ADMIN + Keys.ENTER)  # the token field has the focus
    console.until(lambda d: d.current_url.rstrip("/").endswith("/console"))
    _tab_to(console, "")  # the skip link first
    nav = console.driver.find_element(By.LINK_TEXT, "Offboard")
    for _ in range(10):
        if console.driver.switch_to.active_element == nav:
            break
        ActionChains(console.driver).send_keys(Keys.TAB).perform()
    assert console.driver.switch_to.active_element == nav
    _type(console, Keys.ENTER)
    console.until(lambda d: d.current_url.endswith("/console/offboard"))
    _tab_to(console, "from")
    _type(console, MARCUS)
    _tab_to(console, "to")
    _type(console, JOHN_EMAIL + Keys.ENTER)
    console.see("The plan:")
    _tab_to(console, "confirm", limit=80)
    _type(console, Keys.SPACE)
    _type(console, Keys.TAB)
    assert console.driver.switch_to.active_element.text == "Reassign the meetings"
    _type(console, Keys.ENTER)
    console.see("Finished.")
    assert "refused" in console.main_text() and "moved" in console.main_text()
    console.shot("keyboard-result")


def _webhook(base: str, name: str) -> str:
    """A webhook of the organisation (its target a closed port: its deliveries fail), registered by API."""
    body = {"name": name, "targetUrl": "http://127.0.0.1:9/hook", "resource": "meetings", "event": "all"}
    answer = httpx.post(f"{base}/v1/webhooks", json={**body, "ownedBy": "org"}, headers=auth(ADMIN))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def _unlock_sandbox(console: Console) -> None:
    console.driver.find_element(By.LINK_TEXT, "Sandbox").click()
    console.until(lambda d: d.current_url.endswith("/console/sandbox/unlock"))
    console.until(lambda d: d.find_element(By.ID, "controlToken")).send_keys(CONTROL + Keys.ENTER)
    console.see("The control token is accepted")


def test_a_webhook_name_made_of_html_shows_as_text(console: Console) -> None:
    hook_id = _webhook(console.base, XSS_TITLE)
    console.sign_in()
    for path in ("/console/webhooks", f"/console/webhooks/{hook_id}"):
        console.open(path)
        console.see(XSS_TITLE)
        assert console.driver.find_elements(By.CSS_SELECTOR, "main img") == []
        with pytest.raises(NoAlertPresentException):
            console.driver.switch_to.alert.text  # noqa: B018
    console.shot("escaped-webhook-name")


def test_a_fault_rule_added_in_the_sandbox_page_answers_the_api(console: Console) -> None:
    console.sign_in()
    _unlock_sandbox(console)
    Select(console.driver.find_element(By.ID, "f-method")).select_by_visible_text("GET")
    console.driver.find_element(By.ID, "f-path").send_keys("/v1/people*")
    console.driver.find_element(By.ID, "f-status").send_keys("503")
    console.driver.find_element(By.XPATH, "//button[normalize-space()='Add the rule']").click()
    console.see("The fault rule is added.")
    answer = httpx.get(f"{console.base}/v1/people", params={"email": MARCUS}, headers=auth(ADMIN))
    assert answer.status_code == 503
    console.open("/console/sandbox")
    row = console.driver.find_element(By.XPATH, "//tr[td[contains(., '/v1/people*')]]")
    assert "503" in row.text and row.find_elements(By.XPATH, "td")[4].text == "1"  # one hit
    console.shot("fault-rule")
    row.find_element(By.XPATH, ".//button").click()
    console.see("The fault rule is deleted.")
    answer = httpx.get(f"{console.base}/v1/people", params={"email": MARCUS}, headers=auth(ADMIN))
    assert answer.status_code == 200


def test_no_serious_or_critical_accessibility_violation_on_any_page(console: Console) -> None:
    problems: list[str] = []
    hook_id = _webhook(console.base, "Ops <b>hook</b>")
    refresh = httpx.post(
        f"{console.base}/v1/admin/meetingPreferences/personalMeetingRoom/refreshId",
        json={"siteUrl": SITE, "personalMeetingRoomIds": [{"email": JOHN_EMAIL, "systemGenerated": True}]},
        headers=auth(ADMIN),
    )
    assert refresh.status_code == 200, refresh.text
    console.open("/console/login")
    problems += console.accessibility_problems()
    console.sign_in()
    pages = ["/console", "/console/people", "/console/people?q=Marcus", "/console/offboard", "/console/rooms"]
    pages += [
        "/console/audit",
        "/console/jobs/no-such-job",
        "/console/webhooks",
        f"/console/webhooks/{hook_id}",
    ]
    pages += ["/console/mail", f"/console/mail?to={JOHN_EMAIL}", "/console/sandbox/unlock"]
    for path in pages:
        console.open(path)
        problems += console.accessibility_problems()
    console.open("/console/people?q=Marcus")
    console.driver.find_element(By.PARTIAL_LINK_TEXT, "Marcus").click()
    console.see("Meetings hosted")
    problems += console.accessibility_problems()
    _plan(console, MARCUS, JOHN_EMAIL)
    problems += console.accessibility_problems()
    console.driver.find_element(By.ID, "confirm").click()
    console.driver.find_element(By.XPATH, "//button[normalize-space()='Reassign the meetings']").click()
    console.see("Finished.")
    problems += console.accessibility_problems()
    console.open("/console/rooms")
    console.driver.find_element(By.ID, "csv").send_keys(
        "email,personalMeetingRoomId\nghost@example.com,prGHOST0001\n"
    )
    console.driver.find_element(By.XPATH, "//button[normalize-space()='Check']").click()
    console.see("with problems")
    problems += console.accessibility_problems()
    console.open("/console/mail")
    console.driver.find_element(By.PARTIAL_LINK_TEXT, "personal room").click()
    console.see("Delivery")
    problems += console.accessibility_problems()
    console.open(f"/console/webhooks/{hook_id}")  # its deliveries, failed by now or still to come
    problems += console.accessibility_problems()
    _unlock_sandbox(console)
    problems += console.accessibility_problems()
    console.driver.find_element(By.ID, "f-path").send_keys("/v1/meetings*")
    console.driver.find_element(By.ID, "f-latency").send_keys("1")
    console.driver.find_element(By.XPATH, "//button[normalize-space()='Add the rule']").click()
    console.see("The fault rule is added.")
    console.driver.find_element(By.ID, "l-requests").send_keys("1000")
    console.driver.find_element(By.ID, "l-per").send_keys("1")
    console.driver.find_element(By.XPATH, "//button[normalize-space()='Set the limit']").click()
    console.see("In force")
    console.driver.find_element(By.ID, "s-name").send_keys("a11y")
    console.driver.find_element(By.XPATH, "//button[normalize-space()='Save']").click()
    console.see("The snapshot is saved.")
    problems += console.accessibility_problems()
    console.shot("sandbox")
    console.driver.set_window_size(390, 844)  # a phone
    for path in ("/console/audit", "/console/webhooks", "/console/sandbox"):
        console.open(path)
        problems += console.accessibility_problems()
    console.shot("phone-sandbox")
    assert problems == []
