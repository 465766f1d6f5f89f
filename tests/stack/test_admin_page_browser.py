"""The admin settings page end to end: headless Chromium (Debian's) driven by Selenium against `python -m local run`.

Nothing is downloaded: the browser and its driver are Debian's `chromium` and `chromium-driver` (`make test` installs
them when it runs as root with apt-get), Selenium gets the driver's path and SE_OFFLINE keeps Selenium Manager off
the network. Where no browser can be installed, the browser tests skip and say why.

The stack runs a compressed retry schedule (RETRY_SCHEDULE) so a notification that failed can retry and recover
within seconds, as the delivery log part of the page shows it. The browser runs in a time zone east of UTC so that
a replay window typed in local time is proven to reach the API in UTC.

ADMIN_PAGE_SCREENSHOT=docs/admin-page.png keeps a screenshot of the page (the README's): two endpoints, a few
deliveries, one of them given up on and announced to the other endpoint as delivery.failed, and a test send's result.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from local.process import start_local_stack
from local.receiver import Receiver
from local.template import ROOT
from tests.helpers import wait_for_body

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1100,1000",
]
WAIT = 10.0
# Quick enough for a test, long enough (about 14 s in all) that the page can be read while a notification waits.
RETRY_SCHEDULE = "2s,4s,8s"
# East of UTC, and not by whole hours: a local time sent as if it were UTC would be hours in the future.
BROWSER_TIME_ZONE = "Asia/Kolkata"
REPLAY_COUNTS = r"(\d+) users? (?:was|were) created in the window: (\d+) queued for delivery, (\d+) already"
SIGNING_SECRET = "whsec_" + base64.b64encode(b"admin-page-browser-test-key-32b!").decode()

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


# ---------------------------------------------------------------------------------------------------------------------
# The local stack and plain HTTP
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class Stack:
    api: str
    token: str

    @property
    def page(self) -> str:
        return f"{self.api}/admin"


def call(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def webhook_state(stack: Stack) -> dict[str, Any]:
    status, _headers, body = call("GET", f"{stack.api}/api/v1/admin/webhook", token=stack.token)
    assert status == 200, body
    return dict(json.loads(body))


@pytest.fixture(scope="module")
def fallback_receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stack(
    fallback_receiver: Receiver,
    tmp_path_factory: pytest.TempPathFactory,
    scan_function_output: Callable[[str, str], None],
) -> Iterator[Stack]:
    # The notifier reads the settings on every notification, so a URL saved on the page applies to the next signup.
    env_vars = {"NotifierFunction": {"SETTINGS_CACHE_SECONDS": "0"}}
    running = start_local_stack(
        tmp_path_factory.mktemp("admin-page-stack"), fallback_receiver.url, env_vars, retry_schedule=RETRY_SCHEDULE
    )
    yield Stack(running.api, running.token)
    running.stop()
    scan_function_output(running.log(), running.token)


@pytest.fixture(autouse=True)
def no_saved_url(stack: Stack) -> Iterator[None]:
    yield
    call("DELETE", f"{stack.api}/api/v1/admin/webhook", token=stack.token)
    call("PUT", f"{stack.api}/api/v1/admin/webhook", {"signing_secret": None}, stack.token)


def save_url(stack: Stack, receiver: Receiver, **more: Any) -> None:
    status, _headers, body = call(
        "PUT", f"{stack.api}/api/v1/admin/webhook", {"url": receiver.url, **more}, stack.token
    )
    assert status == 200, body


def sign_up(stack: Stack, prefix: str) -> str:
    """A new user with a name no other test uses; its name."""
    name = f"{prefix} {uuid.uuid4().hex[:6]}"
    form = {"name": name, "email": f"{uuid.uuid4().hex[:12]}@example.com", "password": "correct horse battery"}
    status, _headers, body = call("POST", f"{stack.api}/api/v1/auths/signup", form)
    assert status == 200, body
    return name


def wait_for_delivery(stack: Stack, name: str, status: str, timeout: float = WAIT) -> dict[str, Any]:
    """The delivery log's record of the signup notification about `name` to the default endpoint, once it has
    `status`."""
    deadline, seen = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        code, _headers, body = call("GET", f"{stack.api}/api/v1/admin/webhook/deliveries?limit=50", token=stack.token)
        assert code == 200, body
        items = json.loads(body)["items"]
        mine = (i for i in items if (i["user"]["name"], i["endpoint"], i["event"]) == (name, "default", "user.created"))
        seen = next(mine, None)
        if seen and seen["status"] == status:
            return dict(seen)
        time.sleep(0.2)
    raise AssertionError(f"the notification about {name} never became {status} within {timeout} s: {seen}")


def test_the_local_stack_serves_the_page_files_with_their_types_and_headers(stack: Stack) -> None:
    # Non-JSON answers and every header pass through the local gateway as API Gateway passes them
    for path, content_type in [
        ("/admin", "text/html; charset=utf-8"),
        ("/admin/app.js", "text/javascript; charset=utf-8"),
        ("/admin/app.css", "text/css; charset=utf-8"),
    ]:
        status, headers, body = call("GET", f"{stack.api}{path}")
        assert (status, headers["Content-Type"]) == (200, content_type), path
        assert headers["Content-Security-Policy"] == CSP
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"
        assert int(headers["Content-Length"]) == len(body) > 0


# ---------------------------------------------------------------------------------------------------------------------
# The browser
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.skip(
            f"no browser: {', '.join(missing)} missing. Install Debian's packages with "
            "`apt-get install -y chromium chromium-driver` (make test does it when it runs as root)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (requirements/dev.txt)")
    from selenium.webdriver.chrome.service import Service

    previous = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never try to download a driver or a browser
    profile = tempfile.mkdtemp(prefix="admin-page-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER), env={**os.environ, "TZ": BROWSER_TIME_ZONE})
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        if previous is None:
            os.environ.pop("SE_OFFLINE", None)
        else:
            os.environ["SE_OFFLINE"] = previous


class Page:
    """The settings page in the browser, by element ids, as a keyboard user would use it."""

    def __init__(self, driver: Any, stack: Stack) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import Select, WebDriverWait

        self.driver, self.stack, self._by, self.keys, self._select = driver, stack, By, Keys, Select
        from selenium.common.exceptions import StaleElementReferenceException

        # An entry the page rebuilt (after a change) is found again at the next poll.
        self._wait = WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,))

    def open(self) -> Page:
        self.driver.get(self.stack.page)
        self.driver.execute_script("sessionStorage.clear()")  # a fresh tab
        self.driver.get(self.stack.page)
        self.until(lambda: self.driver.switch_to.active_element.get_attribute("id") == "token")
        self.driver.get_log("browser")  # drained: console_errors() then reports this test's errors only
        return self

    def el(self, element_id: str) -> Any:
        return self.driver.find_element(self._by.ID, element_id)

    def select(self, element_id: str, value: str) -> None:
        self._select(self.el(element_id)).select_by_value(value)

    def until(self, condition: Callable[[], Any], message: str = "") -> Any:
        return self._wait.until(lambda _driver: condition(), message or "the page did not get there")

    def in_viewport(self, element: Any) -> bool:
        """Whether the element is wholly inside the window (not scrolled out of it)."""
        return bool(
            self.driver.execute_script(
                "const box = arguments[0].getBoundingClientRect();"
                "return box.height > 0 && box.top >= -1 && box.bottom <= window.innerHeight + 1;",  # sub-pixel edges
                element,
            )
        )

    def wait_result(self, region: str | Callable[[], Any], *words: str) -> str:
        """The text of an action's result region (its id, or how to find it: an entry may be rebuilt meanwhile) once
        it says `words`; it must be a live region, and in the viewport, where the admin is looking."""
        find = (lambda: self.el(region)) if isinstance(region, str) else region

        def said() -> Any:
            # Read in one poll: an entry rebuilt after this poll would make the element stale (the wait retries).
            element = find()
            text = element.text
            if not all(word in text for word in words):
                return None
            return text, element.get_attribute("role"), element.get_attribute("aria-live")

        text, role, live = self.until(said, f"never said {words}")
        assert (role, live) == ("status", "polite")
        self.until(lambda: self.in_viewport(find()), f"the result {words} is out of the viewport")
        return str(text)

    def unlock(self) -> None:
        self.log_in(self.stack.token)
        self.wait_result("token-result", "Token accepted")

    def type_into_focused(self, *keys: str) -> None:
        self.driver.switch_to.active_element.send_keys(*keys)

    def log_in(self, token: str) -> None:
        self.type_into_focused(token, self.keys.ENTER)  # the token field has the focus when the page opens

    def focus_by_tab(self, element_id: str, limit: int = 30) -> None:
        for _ in range(limit):
            if self.driver.switch_to.active_element.get_attribute("id") == element_id:
                return
            self.type_into_focused(self.keys.TAB)
        raise AssertionError(f"#{element_id} cannot be reached with the Tab key")

    def token_in_storage(self) -> Any:
        return self.driver.execute_script("return sessionStorage.getItem('signup-webhooks-admin-token')")

    def row(self, name: str) -> Any:
        """The delivery log's entry about the user `name`, once the page shows it."""

        def find() -> Any:
            for row in self.driver.find_elements(self._by.CSS_SELECTOR, "#delivery-list li.delivery"):
                if row.find_element(self._by.CLASS_NAME, "delivery-user").text == name:
                    return row
            return None

        return self.until(find, f"no delivery about {name} on the page")

    def facts(self, row: Any) -> dict[str, str]:
        """A delivery entry's terms and values: Attempts, Last reason, Next attempt, ..."""
        terms = row.find_elements(self._by.CSS_SELECTOR, "dl dt")
        values = row.find_elements(self._by.CSS_SELECTOR, "dl dd")
        return {term.text: value.text for term, value in zip(terms, values, strict=True)}

    def screenshot(self, path: Path) -> None:
        """The whole page, from the top, at a wide desktop size (two columns)."""
        size = self.driver.get_window_size()
        self.driver.set_window_size(1400, 1000)
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1400, min(max(int(height) + 200, 1000), 4000))  # + the window's own frame
        self.driver.execute_script("window.scrollTo(0, 0)")
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(size["width"], size["height"])

    def console_errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]


@pytest.fixture
def page(browser: Any, stack: Stack) -> Page:
    browser.set_window_size(1100, 1000)
    return Page(browser, stack).open()


def test_save_test_signup_and_clear_from_the_page(page: Page, stack: Stack, receiver: Receiver) -> None:
    # Given the page, unlocked with the admin token (typed, then Enter)
    page.unlock()
    assert page.el("current-source").text == "the WEBHOOK_URL fallback of the deployment"
    assert page.el("signing-secret").text == "not set"
    assert page.token_in_storage() == stack.token
    assert page.el("token").get_attribute("value") == ""  # not left in the page

    # When the admin types a URL pointing to a local receiver and presses Enter (Save)
    page.focus_by_tab("url")
    page.type_into_focused(receiver.url, page.keys.ENTER)
    # Then it is saved, and the page shows it redacted with its source
    page.wait_result("settings-result", "Saved")
    assert page.el("current-url").text == receiver.url.removesuffix("/hook") + "/…"
    assert page.el("current-source").text == "saved by an administrator"
    assert webhook_state(stack)["source"] == "parameter"

    # When they press Send test (keyboard only: Tab to it, then Enter)
    page.focus_by_tab("send-test")
    page.type_into_focused(page.keys.ENTER)
    # Then the page says it was delivered, with the status and latency, and the receiver got it
    result = page.wait_result("settings-result", "Test delivered")
    assert "HTTP 200" in result and " ms" in result
    wait_for_body(receiver, "Test notification from Signup webhooks: New user signed up: Webhook test")

    # When a user signs up, the receiver gets the notification
    form = {"name": "Grace", "email": f"{uuid.uuid4().hex[:12]}@example.com", "password": "correct horse battery"}
    assert call("POST", f"{stack.api}/api/v1/auths/signup", form)[0] == 200
    wait_for_body(receiver, "New user signed up: Grace")

    # When they press Clear URL
    page.focus_by_tab("clear")
    page.type_into_focused(page.keys.ENTER)
    # Then the page says notifications fall back to WEBHOOK_URL, and they do
    page.wait_result("settings-result", "fall back to WEBHOOK_URL")
    assert page.el("current-source").text == "the WEBHOOK_URL fallback of the deployment"
    assert webhook_state(stack)["source"] == "environment"
    assert page.console_errors() == []  # no CSP violation, no script error


def test_a_wrong_token_shows_an_error_and_changes_nothing(page: Page, stack: Stack, receiver: Receiver) -> None:
    # Given a saved URL
    status, _headers, _body = call("PUT", f"{stack.api}/api/v1/admin/webhook", {"url": receiver.url}, stack.token)
    assert status == 200
    before = webhook_state(stack)
    # When a wrong token is entered
    page.log_in("not-the-admin-token")
    # Then the page says the token was refused, shows no settings and keeps no token
    page.until(lambda: page.el("token-error").is_displayed())
    assert "refused" in page.el("token-error").text
    assert page.el("token").get_attribute("aria-invalid") == "true"
    assert not page.el("settings").is_displayed()
    assert page.token_in_storage() is None
    # And nothing changed
    assert webhook_state(stack) == before


def test_an_api_validation_error_is_shown_next_to_its_field(page: Page, stack: Stack) -> None:
    page.unlock()
    before = webhook_state(stack)
    # When an unusable URL is saved
    page.el("url").send_keys("ftp://example.com/hook")
    page.el("save").click()
    # Then the API's message appears under the URL field, which is marked invalid and focused
    page.until(lambda: page.el("url-error").is_displayed())
    assert "url" in page.el("url-error").text
    assert page.el("url").get_attribute("aria-invalid") == "true"
    assert page.driver.switch_to.active_element.get_attribute("id") == "url"
    assert webhook_state(stack) == before


def test_the_preview_renders_the_template_live(page: Page, stack: Stack) -> None:
    page.unlock()
    assert page.el("preview").text == "New user signed up: Tim"
    # When the template and the sample name change
    template = page.el("message_template")
    template.clear()
    template.send_keys("Nuevo usuario registrado: {name} ({role}) {{ok}}")
    name = page.el("sample-name")
    name.clear()
    name.send_keys("Ada\u202e")
    # Then the preview follows, with the value cleaned as the notifier cleans it
    page.until(lambda: page.el("preview").text == "Nuevo usuario registrado: Ada (pending) {ok}")
    # And an unknown placeholder is flagged next to the template before anything is sent
    template.send_keys(" {password}")
    page.until(lambda: page.el("message_template-error").is_displayed())
    assert "unknown placeholder {password}" in page.el("message_template-error").text


def test_the_page_is_readable_at_320_pixels(page: Page, stack: Stack) -> None:
    page.driver.set_window_size(320, 900)
    page.unlock()
    page.until(lambda: page.el("deliveries-count").text, "the delivery log never loaded")  # its rows count too
    width = page.driver.execute_script("return window.innerWidth")
    assert width <= 360
    # Nothing is wider than the viewport: no sideways scrolling
    assert page.driver.execute_script("return document.documentElement.scrollWidth") <= width
    assert page.el("clear").is_displayed()
    assert page.el("replay-since").is_displayed()


# ---------------------------------------------------------------------------------------------------------------------
# Health, the delivery log and replays
# ---------------------------------------------------------------------------------------------------------------------


def test_the_page_shows_a_notification_retrying_while_the_receiver_fails_then_delivered(
    page: Page, stack: Stack, receiver: Receiver
) -> None:
    # Given a saved URL whose receiver answers 500 to everything
    save_url(stack, receiver)
    receiver.respond_with(500)
    # When a user signs up, and the quick first try has handed the notification to the retry schedule
    name = sign_up(stack, "Ada")
    wait_for_delivery(stack, name, "retrying")
    page.unlock()
    # Then the page shows the endpoint failing, and the notification waiting, with its reason and next attempt
    page.until(lambda: page.el("health-badge").text == "failing", "the health never said failing")
    assert page.el("health-failing-since").text != "not failing"
    assert page.el("health-consecutive").text != "0"
    row = page.row(name)
    assert row.find_element(page._by.CLASS_NAME, "badge").text == "retrying"
    facts = page.facts(row)
    assert facts["Last reason"] == "server error (HTTP 500)"
    # And the next attempt is a readable local time with how far off it is, carrying the API's instant for tools
    next_attempt = row.find_element(page._by.XPATH, ".//dt[.='Next attempt']/following-sibling::dd[1]/time")
    iso = next_attempt.get_attribute("datetime")
    assert datetime.fromisoformat(iso).tzinfo is not None
    assert iso[:16] not in next_attempt.text
    assert re.search(r"\((in \d+ seconds?|now|\d+ seconds? ago)\)$", next_attempt.text), next_attempt.text
    assert "temporarily unavailable" in row.text  # the reason in the troubleshooting guide's words

    # When the receiver recovers, the schedule delivers with no admin action, and the admin presses Refresh
    receiver.respond_with(200)
    delivered = wait_for_delivery(stack, name, "delivered", timeout=15)
    page.el("refresh").send_keys(page.keys.ENTER)
    page.wait_result("refresh-result", "refreshed")
    # Then the page shows the endpoint healthy and the notification delivered after its failed attempts
    page.until(lambda: page.el("health-badge").text == "healthy", "the health never said healthy")
    assert page.el("health-failing-since").text == "not failing"
    assert page.el("health-retrying").text == "0 notifications"
    row = page.row(name)
    assert row.find_element(page._by.CLASS_NAME, "badge").text == "delivered"
    facts = page.facts(row)
    assert facts["Attempts"] == str(delivered["attempt_count"]) and delivered["attempt_count"] > 3
    assert "Next attempt" not in facts and "Last reason" not in facts  # a delivered entry says only what happened
    # And the attempt history names each attempt's trigger, the schedule's ones included
    row.find_element(page._by.TAG_NAME, "summary").click()
    history = row.find_element(page._by.CSS_SELECTOR, "ol.attempts").text
    assert "first try" in history and "retry schedule" in history and "HTTP 200, delivered" in history
    # And the filter shows the notification among the delivered ones only
    page.select("delivery-status", "retrying")
    page.until(lambda: name not in page.el("delivery-list").text, "a delivered notification was listed as retrying")
    page.select("delivery-status", "delivered")
    page.row(name)
    assert page.console_errors() == []


def test_a_resend_button_sends_the_notification_again_with_the_same_webhook_id(
    page: Page, stack: Stack, receiver: Receiver
) -> None:
    # Given a notification delivered to a receiver (signed, so it carries a webhook-id)
    save_url(stack, receiver, signing_secret=SIGNING_SECRET)
    name = sign_up(stack, "Grace")
    first = wait_for_body(receiver, f"New user signed up: {name}")
    wait_for_delivery(stack, name, "delivered")
    page.unlock()
    row = page.row(name)
    assert page.facts(row)["Attempts"] == "1"
    # When the admin presses its Resend button (keyboard: Enter on the focused button)
    row.find_element(page._by.CSS_SELECTOR, "button.resend").send_keys(page.keys.ENTER)
    # Then the receiver gets the same notification a second time, with the same webhook-id
    resent = lambda: page.row(name).find_element(page._by.CLASS_NAME, "result")  # noqa: E731
    page.wait_result(resent, "Resent the notification about", name, "delivered")
    again = [r for r in receiver.wait_for(2) if r.text == f"New user signed up: {name}"]
    assert len(again) == 2
    ids = [{k.lower(): v for k, v in r.headers.items()}["webhook-id"] for r in again]
    assert ids[0] == ids[1] == {k.lower(): v for k, v in first.headers.items()}["webhook-id"]
    # And the row shows the resend as an attempt of its own, and keeps the focus on its button
    row = page.row(name)
    assert page.facts(row)["Attempts"] == "2"
    assert page.driver.switch_to.active_element.get_attribute("class") == "secondary resend"
    row.find_element(page._by.TAG_NAME, "summary").click()
    assert "resend" in row.find_element(page._by.CSS_SELECTOR, "ol.attempts").text
    assert page.el("health-badge").text == "healthy"
    assert SIGNING_SECRET.removeprefix("whsec_") not in page.driver.page_source


def test_replay_dead_letters_delivers_a_notification_the_receiver_refused_and_shows_the_counts(
    page: Page, stack: Stack, receiver: Receiver
) -> None:
    # Given a notification in the dead-letter queue: the receiver answered 404, a failure no retry fixes
    save_url(stack, receiver)
    receiver.respond_with(404)
    name = sign_up(stack, "Linus")
    wait_for_delivery(stack, name, "failed")
    page.unlock()
    assert page.el("health-dead-letters").text != "0 notifications (approximate)"
    assert page.row(name).find_element(page._by.CLASS_NAME, "badge").text == "failed"
    # When the receiver is fixed and the admin presses Replay dead letters
    receiver.respond_with(200)
    page.el("redrive").send_keys(page.keys.ENTER)
    # Then the page says how many were delivered, and the notification arrives and shows as delivered
    page.until(lambda: "Dead letters replayed" in page.el("redrive-result").text, "no redrive result")
    assert re.search(r"[1-9]\d* delivered, 0 already delivered, 0 still failing", page.el("redrive-result").text)
    wait_for_body(receiver, f"New user signed up: {name}")
    page.until(lambda: page.row(name).find_element(page._by.CLASS_NAME, "badge").text == "delivered")
    assert page.el("health-dead-letters").text == "0 notifications (approximate)"


def test_replay_since_sends_a_local_time_as_utc_and_shows_the_counts(
    page: Page, stack: Stack, receiver: Receiver
) -> None:
    # Given a user whose notification was delivered a moment ago
    save_url(stack, receiver)
    name = sign_up(stack, "Barbara")
    wait_for_delivery(stack, name, "delivered")
    page.unlock()
    local_now = datetime.now(ZoneInfo(BROWSER_TIME_ZONE))

    def replay(since: datetime, until: datetime | None = None) -> None:
        for field, moment in (("since", since), ("until", until)):
            value = moment.strftime("%Y-%m-%dT%H:%M:%S") if moment else ""
            page.driver.execute_script("document.getElementById(arguments[0]).value = arguments[1]", field, value)
        page.el("replay-since").click()

    # When "until" is before "since", the page says so next to "until" and sends nothing
    replay(local_now, local_now - timedelta(hours=1))
    page.until(lambda: page.el("until-error").is_displayed())
    assert "before since" in page.el("until-error").text
    assert page.el("until").get_attribute("aria-invalid") == "true"
    # When "since" is in the future (as a local time read as UTC would be here), the API refuses it: until (now)
    # would be before since, and its message shows next to "until"
    replay(local_now + timedelta(hours=2))
    page.until(lambda: page.el("until-error").text == "until must not be before since", "no API error under until")
    # When the admin replays since ten minutes ago, in the browser's local time
    replay(local_now - timedelta(minutes=10))
    # Then the window reaches the API as the same instant in UTC: the user is in it, already delivered
    page.until(lambda: "created in the window" in page.el("replay-result").text, "no replay result")
    counts = re.search(REPLAY_COUNTS, page.el("replay-result").text)
    assert counts, page.el("replay-result").text
    assert int(counts[1]) >= 1 and int(counts[3]) >= 1
    assert not page.el("since-error").is_displayed() and not page.el("until-error").is_displayed()
    # And the only console error is the browser's note of the one refusal the test asked for
    assert [e for e in page.console_errors() if "/replay - Failed to load resource" not in e] == []


# ---------------------------------------------------------------------------------------------------------------------
# Several endpoints
# ---------------------------------------------------------------------------------------------------------------------


def endpoints_answer(stack: Stack) -> tuple[list[dict[str, Any]], str]:
    """The endpoints as the API lists them, and the raw answer (to look for secrets in)."""
    status, _headers, body = call("GET", f"{stack.api}/api/v1/admin/webhooks", token=stack.token)
    assert status == 200, body
    return list(json.loads(body)["items"]), body.decode()


@pytest.fixture
def no_added_endpoints(stack: Stack) -> Iterator[None]:
    yield
    for item in endpoints_answer(stack)[0]:
        if item["id"] != "default":
            call("DELETE", f"{stack.api}/api/v1/admin/webhooks/{item['id']}", token=stack.token)


def test_add_disable_rotate_and_delete_an_endpoint_from_the_page(
    page: Page, stack: Stack, receiver: Receiver, no_added_endpoints: None
) -> None:
    by = page._by
    page.unlock()
    page.until(lambda: page.el("endpoints-count").text, "the endpoints never loaded")

    # When the admin adds an endpoint for signups and failed deliveries
    page.el("endpoint-name").send_keys("Ops receiver")
    page.el("endpoint-url").send_keys(receiver.url)
    page.el("endpoint-event-delivery-failed").click()
    page.el("endpoint-save").click()
    page.wait_result("endpoint-form-result", "Added the endpoint Ops receiver")

    # Then it is listed with its redacted URL, its events and a health badge
    def ops_row() -> Any:
        for row in page.driver.find_elements(by.CSS_SELECTOR, "#endpoint-list li.endpoint"):
            if row.find_element(by.CLASS_NAME, "endpoint-name").text == "Ops receiver":
                return row
        return None

    row = page.until(ops_row, "the new endpoint is not listed")
    assert row.find_element(by.CSS_SELECTOR, ".badge.health").text == "unknown"
    facts = page.facts(row)
    assert facts["URL"] == receiver.url.removesuffix("/hook") + "/…"
    assert facts["Events"] == "user.created, delivery.failed"
    assert facts["Signing secret"] == "not set"
    (created,) = [item for item in endpoints_answer(stack)[0] if item["name"] == "Ops receiver"]
    assert created["events"] == ["user.created", "delivery.failed"]
    # And the delivery log can be narrowed to it
    options = page.el("delivery-endpoint").find_elements(by.TAG_NAME, "option")
    assert created["id"] in [option.get_attribute("value") for option in options]

    # When they disable it
    row.find_element(by.CSS_SELECTOR, "button.toggle").click()
    page.wait_result(f"endpoint-result-{created['id']}", "Ops receiver is disabled")
    page.until(lambda: ops_row().find_elements(by.CSS_SELECTOR, ".badge.disabled"), "no disabled badge")
    assert ops_row().find_element(by.CSS_SELECTOR, "button.toggle").text == "Enable"
    assert [item["enabled"] for item in endpoints_answer(stack)[0] if item["id"] == created["id"]] == [False]

    # When they rotate its secret
    ops_row().find_element(by.CSS_SELECTOR, "button.rotate").click()
    page.wait_result(f"endpoint-result-{created['id']}", "has a new signing secret")
    # Then the new secret is shown once, focused, with a hint to copy it; the API never shows it again
    secret = page.until(lambda: page.el(f"new-secret-{created['id']}").get_attribute("value"), "no new secret shown")
    assert secret.startswith("whsec_")
    assert page.driver.switch_to.active_element.get_attribute("id") == f"new-secret-{created['id']}"
    assert "shown only this once" in ops_row().find_element(by.CLASS_NAME, "copy-hint").text
    assert page.facts(ops_row())["Signing secret"] == "set (never shown)"  # no previous secret to overlap
    items, raw = endpoints_answer(stack)
    assert secret not in raw
    assert [item["signing_secret"] for item in items if item["id"] == created["id"]] == ["set"]

    # When they delete it, and confirm
    ops_row().find_element(by.CSS_SELECTOR, "button.delete").click()
    page.until(lambda: page.driver.switch_to.alert, "no confirmation asked").accept()
    page.wait_result("endpoints-result", "Deleted the endpoint Ops receiver")
    page.until(lambda: ops_row() is None, "the deleted endpoint is still listed")
    assert [item for item in endpoints_answer(stack)[0] if item["id"] == created["id"]] == []
    assert page.console_errors() == []


# ---------------------------------------------------------------------------------------------------------------------
# Where the page answers: results next to their controls, navigation, the default endpoint once, the log's entries
# ---------------------------------------------------------------------------------------------------------------------


def add_endpoint(stack: Stack, name: str, url: str, events: list[str] | None = None) -> dict[str, Any]:
    body = {"name": name, "url": url, "events": events or ["user.created"]}
    status, _headers, answer = call("POST", f"{stack.api}/api/v1/admin/webhooks", body, stack.token)
    assert status == 201, answer
    return dict(json.loads(answer))


def endpoint_entry(page: Page, name: str) -> Any:
    """The endpoint list's entry of the endpoint `name`."""

    def find() -> Any:
        entries = page.driver.find_elements(page._by.CSS_SELECTOR, "#endpoint-list > li")
        return next((e for e in entries if e.find_element(page._by.CLASS_NAME, "endpoint-name").text == name), None)

    return page.until(find, f"no endpoint {name} listed")


def test_each_result_shows_next_to_its_control_in_the_viewport_and_a_failure_looks_apart(
    page: Page, stack: Stack, receiver: Receiver, no_added_endpoints: None
) -> None:
    add_endpoint(stack, "Ops receiver", receiver.url)
    page.driver.set_window_size(1100, 700)  # a short window: most of the page is out of it
    page.unlock()
    # When the admin types a URL whose receiver fails and presses Send test
    receiver.respond_with(500)
    page.el("url").send_keys(receiver.url)
    page.el("send-test").click()
    # Then the failure shows right under the button, in the viewport, announced, marked as a failure
    failed = page.wait_result("settings-result", "Test not delivered", "HTTP 500")
    assert "temporarily unavailable" in failed
    region, button = page.el("settings-result"), page.el("send-test")
    assert 0 <= region.rect["y"] - button.rect["y"] < 250
    assert "bad" in region.get_attribute("class").split()

    def look(element_id: str) -> tuple[str, str, str]:
        return tuple(  # type: ignore[return-value]
            page.driver.execute_script(
                "const region = document.getElementById(arguments[0]);"
                "const mark = getComputedStyle(region.querySelector('p'), '::before').content;"
                "const style = getComputedStyle(region);"
                "return [mark, style.borderTopStyle + ' ' + style.borderTopWidth, style.fontWeight];",
                element_id,
            )
        )

    failure_look = look("settings-result")
    # When it is tried again once the receiver works, the same place says delivered, and looks otherwise than
    # a failure in more than colour: its mark, its border and its weight
    receiver.respond_with(200)
    page.el("send-test").click()
    page.wait_result("settings-result", "Test delivered")
    success_look = look("settings-result")
    assert "Failed" in failure_look[0] and "Failed" not in success_look[0]
    assert failure_look[1] != success_look[1] and failure_look[2] != success_look[2]
    # When they save, "Saved" shows at the same place
    page.el("save").click()
    page.wait_result("settings-result", "Saved")
    # When they scroll away and press another endpoint's Send test, its result shows in its own entry, in view
    page.driver.execute_script("window.scrollTo(0, document.documentElement.scrollHeight)")
    ops = endpoint_entry(page, "Ops receiver")
    ops.find_element(page._by.CSS_SELECTOR, "button.test").click()
    page.wait_result(
        lambda: endpoint_entry(page, "Ops receiver").find_element(page._by.CLASS_NAME, "result"), "delivered"
    )
    assert page.console_errors() == []


def test_the_token_field_is_no_longer_marked_wrong_once_the_right_token_is_accepted(page: Page, stack: Stack) -> None:
    page.log_in("not-the-admin-token")
    page.until(lambda: page.el("token").get_attribute("aria-invalid") == "true", "the wrong token was not flagged")
    token = page.el("token")
    token.clear()
    token.send_keys(stack.token, page.keys.ENTER)
    page.wait_result("token-result", "Token accepted")
    assert token.get_attribute("aria-invalid") is None
    assert not page.el("token-error").is_displayed()


def test_the_sections_are_one_link_away_and_a_wide_screen_has_two_columns(
    page: Page, stack: Stack, no_added_endpoints: None
) -> None:
    page.driver.set_window_size(1400, 900)
    page.unlock()
    links = page.el("sections-nav").find_elements(page._by.TAG_NAME, "a")
    targets = [link.get_attribute("href").split("#", 1)[1] for link in links]
    assert {"endpoints", "health", "deliveries", "replay"} <= set(targets)
    # When the admin follows the link to the deliveries, the section comes into view, below the nav
    page.driver.execute_script("window.scrollTo(0, document.documentElement.scrollHeight)")
    next(link for link in links if link.get_attribute("href").endswith("#deliveries")).click()
    heading = page.el("deliveries-heading")
    page.until(lambda: page.in_viewport(heading), "the deliveries are not in view")
    top = "return arguments[0].getBoundingClientRect()[arguments[1]]"
    nav_bottom = page.driver.execute_script(top, page.el("sections-nav"), "bottom")
    assert page.driver.execute_script(top, heading, "top") >= nav_bottom - 1  # not hidden under the sticky nav
    # And on a wide screen the endpoints and the deliveries sit side by side
    endpoints, deliveries = page.el("endpoints").rect, page.el("health").rect
    assert deliveries["x"] >= endpoints["x"] + endpoints["width"]
    assert abs(deliveries["y"] - endpoints["y"]) < 50
    # And on a narrower one, one above the other
    page.driver.set_window_size(1000, 900)
    page.until(lambda: page.el("health").rect["x"] == page.el("endpoints").rect["x"], "still two columns at 1000 px")


def test_the_default_endpoint_is_listed_once_with_the_single_url_form_as_its_editor(
    page: Page, stack: Stack, receiver: Receiver, no_added_endpoints: None
) -> None:
    add_endpoint(stack, "Ops receiver", receiver.url)
    save_url(stack, receiver)
    page.unlock()
    endpoint_entry(page, "Ops receiver")
    entries = page.driver.find_elements(page._by.CSS_SELECTOR, "#endpoint-list > li")
    # Then the default endpoint is one entry, the first, and holds the single-URL form with its buttons
    assert [entry.get_attribute("data-endpoint-id") for entry in entries].count("default") == 1
    default = entries[0]
    assert default.get_attribute("data-endpoint-id") == "default"
    for control in ("url", "format", "message_template", "save", "send-test", "clear"):
        assert default.find_elements(page._by.ID, control), control
    # And no button of it is there twice: one Send test, no Edit or Delete beside the form's Save and Clear URL
    labels = [button.text for button in default.find_elements(page._by.TAG_NAME, "button")]
    assert labels.count("Send test") == 1 and "Edit" not in labels and "Delete" not in labels
    assert "Rotate secret" in labels
    assert not page.el("default-disabled").is_displayed()  # it is enabled
    # And the page has no other section about it
    assert [h.text for h in page.driver.find_elements(page._by.TAG_NAME, "h2") if h.text == "Webhook"] == []


def test_delivery_entries_name_their_endpoint_and_event_and_fold_their_attempts(
    page: Page, stack: Stack, receiver: Receiver, no_added_endpoints: None
) -> None:
    # Given two endpoints that both got the notification about a new user
    save_url(stack, receiver)
    add_endpoint(stack, "Ops receiver", receiver.url)
    name = sign_up(stack, "Katherine")
    receiver.wait_for(2)
    page.unlock()

    def entries() -> list[Any]:
        rows = page.driver.find_elements(page._by.CSS_SELECTOR, "#delivery-list li.delivery")
        found = [row for row in rows if row.find_element(page._by.CLASS_NAME, "delivery-user").text == name]
        return found if len(found) == 2 and all("delivered" in row.text for row in found) else []

    rows = page.until(entries, f"not two delivered entries about {name}")
    # Then each entry names its endpoint and the event
    endpoints = {row.find_element(page._by.CLASS_NAME, "delivery-endpoint").text for row in rows}
    assert endpoints == {"Default", "Ops receiver"}  # the default endpoint's name, as the API lists it
    assert {row.find_element(page._by.CLASS_NAME, "delivery-event").text for row in rows} == {"user.created"}
    for row in rows:
        # And a delivered entry is compact: no reason or next attempt, its attempts folded away
        assert "Last reason" not in page.facts(row) and "Next attempt" not in page.facts(row)
        details = row.find_element(page._by.TAG_NAME, "details")
        assert details.get_attribute("open") is None
        assert not row.find_element(page._by.CSS_SELECTOR, "ol.attempts").is_displayed()
        row.find_element(page._by.TAG_NAME, "summary").click()
        assert "HTTP 200, delivered" in row.find_element(page._by.CSS_SELECTOR, "ol.attempts").text


def test_an_endpoints_health_is_read_again_after_its_test_send(
    page: Page, stack: Stack, receiver: Receiver, no_added_endpoints: None
) -> None:
    ops = add_endpoint(stack, "Ops receiver", receiver.url)
    page.unlock()
    badge = lambda: endpoint_entry(page, "Ops receiver").find_element(page._by.CSS_SELECTOR, ".badge.health")  # noqa: E731
    page.until(lambda: badge().text == "unknown", "a new endpoint's health is not unknown")
    # When a notification reaches it after the page loaded (the health the API has is now healthy)
    sign_up(stack, "Dorothy")
    deadline = time.monotonic() + WAIT
    while [item["health"]["status"] for item in endpoints_answer(stack)[0] if item["id"] == ops["id"]] != ["healthy"]:
        assert time.monotonic() < deadline, "the endpoint never became healthy"
        time.sleep(0.2)
    assert badge().text == "unknown"
    # And the admin presses its Send test
    endpoint_entry(page, "Ops receiver").find_element(page._by.CSS_SELECTOR, "button.test").click()
    page.wait_result(
        lambda: endpoint_entry(page, "Ops receiver").find_element(page._by.CLASS_NAME, "result"), "delivered"
    )
    # Then its badge shows the health as it is now
    page.until(lambda: badge().text == "healthy", f"the badge still says {badge().text}")


def test_a_rotated_secret_has_a_copy_button_that_falls_back_to_selecting_it(
    page: Page, stack: Stack, receiver: Receiver, no_added_endpoints: None
) -> None:
    ops = add_endpoint(stack, "Ops receiver", receiver.url)
    origin = stack.api.rstrip("/")
    page.driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}
    )
    page.unlock()
    endpoint_entry(page, "Ops receiver").find_element(page._by.CSS_SELECTOR, "button.rotate").click()
    secret = page.until(lambda: page.el(f"new-secret-{ops['id']}").get_attribute("value"), "no new secret shown")
    # When the admin presses Copy, the secret is on the clipboard, and the page says so next to the button
    page.el("endpoint-list").find_element(page._by.CSS_SELECTOR, "button.copy").click()
    page.wait_result(f"copy-result-{ops['id']}", "Copied")
    pasted = page.driver.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0], () => arguments[0](''))"
    )
    assert pasted == secret
    # When the clipboard cannot be written (no Clipboard API), Copy selects the secret for Ctrl+C instead
    page.driver.execute_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.el("endpoint-list").find_element(page._by.CSS_SELECTOR, "button.copy").click()
    page.wait_result(f"copy-result-{ops['id']}", "selected", "Ctrl+C")
    field = page.driver.switch_to.active_element
    assert field.get_attribute("id") == f"new-secret-{ops['id']}"
    selected = page.driver.execute_script(
        "const f = arguments[0]; return f.value.slice(f.selectionStart, f.selectionEnd)", field
    )
    assert selected == secret


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the page as it is (the engine ships in axe-selenium-python)."""
    axe_selenium = pytest.importorskip("axe_selenium_python", reason="axe-selenium-python is not installed")
    axe = axe_selenium.Axe(page.driver)
    axe.inject()
    results = axe.run()
    return [v for v in results["violations"] if v["impact"] in ("serious", "critical")]


def test_the_page_has_no_serious_accessibility_violations(
    page: Page, stack: Stack, receiver: Receiver, no_added_endpoints: None
) -> None:
    # Locked, then unlocked with two endpoints, a delivery log, a result and a failure shown
    assert axe_violations(page) == [], "the token form"
    save_url(stack, receiver)
    ops = add_endpoint(stack, "Ops receiver", receiver.url)
    sign_up(stack, "Mary")
    receiver.wait_for(2)
    page.unlock()
    page.until(lambda: page.el("deliveries-count").text.startswith(("1", "2", "3", "4", "5", "6", "7", "8", "9")))
    receiver.respond_with(500)
    page.el("send-test").click()
    page.wait_result("settings-result", "Test not delivered")
    endpoint_entry(page, "Ops receiver").find_element(page._by.CSS_SELECTOR, "button.rotate").click()
    page.until(lambda: page.el(f"new-secret-{ops['id']}").get_attribute("value"), "no new secret shown")
    violations = axe_violations(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def test_a_failed_delivery_is_announced_to_the_endpoint_that_subscribed_to_delivery_failed(
    page: Page, stack: Stack, receiver: Receiver, no_added_endpoints: None
) -> None:
    # Given the default endpoint and an Ops endpoint (its own receiver) for signups and failed deliveries
    ops_receiver = Receiver().start()
    try:
        save_url(stack, receiver)
        add_endpoint(stack, "Ops receiver", ops_receiver.url, ["user.created", "delivery.failed"])
        delivered = [sign_up(stack, "Ada"), sign_up(stack, "Grace")]
        for name in delivered:
            wait_for_body(receiver, f"New user signed up: {name}")
        # When the default's receiver answers 404 (a failure no retry fixes) to the next signup
        receiver.respond_with(404)
        lost = sign_up(stack, "Linus")
        wait_for_delivery(stack, lost, "failed")
        receiver.respond_with(200)
        page.driver.set_window_size(1400, 1000)
        page.unlock()

        # Then the log shows it failed to the default endpoint, and the delivery.failed event sent to Ops
        def entry(endpoint: str, event: str) -> Any:
            for row in page.driver.find_elements(page._by.CSS_SELECTOR, "#delivery-list li.delivery"):
                head = row.find_element(page._by.CLASS_NAME, "delivery-head").text
                if lost in head and endpoint in head and event in head:
                    return row
            return None

        failed = page.until(lambda: entry("Default", "user.created"), "no failed entry to the default endpoint")
        assert failed.find_element(page._by.CLASS_NAME, "badge").text == "failed"
        assert page.facts(failed)["Last reason"].startswith("not found")
        page.until(lambda: entry("Ops receiver", "delivery.failed"), "no delivery.failed entry to Ops receiver")
        page.el("send-test").click()
        page.wait_result("settings-result", "Test delivered")
        if os.environ.get("ADMIN_PAGE_SCREENSHOT"):
            page.screenshot(ROOT / os.environ["ADMIN_PAGE_SCREENSHOT"])
    finally:
        ops_receiver.stop()


def test_an_endpoint_its_receiver_answered_410_shows_why_and_when_until_enabled_again(
    page: Page, stack: Stack, receiver: Receiver, no_saved_url: None
) -> None:
    # Given the default endpoint's receiver answering 410 Gone to a signup's notification
    save_url(stack, receiver)
    receiver.respond_with(410)
    try:
        wait_for_delivery(stack, sign_up(stack, "Gone"), "failed")
        page.unlock()
        # Then the page says it was disabled, why and when
        gone = page.until(lambda: page.el("default-gone") if page.el("default-gone").is_displayed() else None)
        assert gone.text.startswith("disabled: the receiver answered 410 Gone at ")
        assert (
            gone.find_element(page._by.TAG_NAME, "time").get_attribute("datetime")
            == webhook_state(stack)["disabled_at"]
        )
        assert page.el("default-disabled").is_displayed()
    finally:
        receiver.respond_with(200)
        status, _headers, body = call(
            "PATCH", f"{stack.api}/api/v1/admin/webhooks/default", {"enabled": True}, stack.token
        )
        assert status == 200, body
    # And enabling it again clears the line
    page.open().unlock()
    page.until(lambda: not page.el("default-gone").is_displayed(), "the 410 line is still shown")
