"""The admin settings page end to end: headless Chromium (Debian's) driven by Selenium against `python -m local run`.

Nothing is downloaded: the browser and its driver are Debian's `chromium` and `chromium-driver` (`make test` installs
them when it runs as root with apt-get), Selenium gets the driver's path and SE_OFFLINE keeps Selenium Manager off
the network. Where no browser can be installed, the browser tests skip and say why.

ADMIN_PAGE_SCREENSHOT=docs/admin-page.png keeps a screenshot of the page (the README's) after a test send.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.process import start_local_stack
from local.receiver import ReceivedRequest, Receiver
from local.template import ROOT

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


def wait_for_text(receiver: Receiver, text: str, timeout: float = WAIT) -> ReceivedRequest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for request in receiver.received:
            if request.text == text:
                return request
        receiver.wait_for(len(receiver.received) + 1, timeout=min(0.5, max(deadline - time.monotonic(), 0)))
    raise AssertionError(f"no webhook {text!r} within {timeout} s; got {[r.text for r in receiver.received]}")


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
    running = start_local_stack(tmp_path_factory.mktemp("admin-page-stack"), fallback_receiver.url, env_vars)
    yield Stack(running.api, running.token)
    running.stop()
    scan_function_output(running.log(), running.token)


@pytest.fixture(autouse=True)
def no_saved_url(stack: Stack) -> Iterator[None]:
    yield
    call("DELETE", f"{stack.api}/api/v1/admin/webhook", token=stack.token)


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
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
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
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.stack, self._by, self.keys = driver, stack, By, Keys
        self._wait = WebDriverWait(driver, WAIT)

    def open(self) -> Page:
        self.driver.get(self.stack.page)
        self.driver.execute_script("sessionStorage.clear()")  # a fresh tab
        self.driver.get(self.stack.page)
        self.until(lambda: self.driver.switch_to.active_element.get_attribute("id") == "token")
        return self

    def el(self, element_id: str) -> Any:
        return self.driver.find_element(self._by.ID, element_id)

    def until(self, condition: Callable[[], Any], message: str = "") -> Any:
        return self._wait.until(lambda _driver: condition(), message or "the page did not get there")

    def status(self) -> str:
        return str(self.el("status").text)

    def wait_status(self, *words: str) -> str:
        self.until(lambda: all(word in self.status() for word in words), f"status never said {words}: {self.status()}")
        return self.status()

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

    def screenshot(self, path: Path) -> None:
        """The whole page, from the top, at a desktop size."""
        size = self.driver.get_window_size()
        self.driver.set_window_size(900, 1400)
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
    page.log_in(stack.token)
    page.wait_status("Token accepted")
    assert page.el("current-source").text == "the WEBHOOK_URL fallback of the deployment"
    assert page.el("signing-secret").text == "not set"
    assert page.token_in_storage() == stack.token
    assert page.el("token").get_attribute("value") == ""  # not left in the page

    # When the admin types a URL pointing to a local receiver and presses Enter (Save)
    page.focus_by_tab("url")
    page.type_into_focused(receiver.url, page.keys.ENTER)
    # Then it is saved, and the page shows it redacted with its source
    page.wait_status("Saved")
    assert page.el("current-url").text == receiver.url.removesuffix("/hook") + "/…"
    assert page.el("current-source").text == "saved by an administrator"
    assert webhook_state(stack)["source"] == "parameter"

    # When they press Send test (keyboard only: Tab to it, then Enter)
    page.focus_by_tab("send-test")
    page.type_into_focused(page.keys.ENTER)
    # Then the page says it was delivered, with the status and latency, and the receiver got it
    result = page.wait_status("Test delivered")
    assert "HTTP 200" in result and " ms" in result
    wait_for_text(receiver, "New user signed up: Webhook test")
    if os.environ.get("ADMIN_PAGE_SCREENSHOT"):
        page.screenshot(ROOT / os.environ["ADMIN_PAGE_SCREENSHOT"])

    # When a user signs up, the receiver gets the notification
    form = {"name": "Grace", "email": f"{uuid.uuid4().hex[:12]}@example.com", "password": "correct horse battery"}
    assert call("POST", f"{stack.api}/api/v1/auths/signup", form)[0] == 200
    wait_for_text(receiver, "New user signed up: Grace")

    # When they press Clear URL
    page.focus_by_tab("clear")
    page.type_into_focused(page.keys.ENTER)
    # Then the page says notifications fall back to WEBHOOK_URL, and they do
    page.wait_status("fall back to WEBHOOK_URL")
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
    page.log_in(stack.token)
    page.wait_status("Token accepted")
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
    page.log_in(stack.token)
    page.wait_status("Token accepted")
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
    page.log_in(stack.token)
    page.wait_status("Token accepted")
    width = page.driver.execute_script("return window.innerWidth")
    assert width <= 360
    # Nothing is wider than the viewport: no sideways scrolling
    assert page.driver.execute_script("return document.documentElement.scrollWidth") <= width
    assert page.el("clear").is_displayed()
