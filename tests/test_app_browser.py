"""End to end: `skgalaxy hunt` labelled in a real headless Chromium, killed, resumed.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them)
and Selenium. With ``SKGALAXY_SCREENSHOT=path.png`` the test also saves its
screenshot of the page there (how ``docs/images/hunt_page.png`` was made), and
with ``SKGALAXY_MAP_SCREENSHOT`` its map (``docs/images/hunt_map.png``).
"""

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import small_galaxies

selenium = pytest.importorskip("selenium")
pytest.importorskip("fastapi")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no browser: install Chromium and its driver "
    "(apt-get install -y chromium chromium-driver)",
)


@pytest.fixture
def browser():
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def start_hunt(data, session):
    """Run `skgalaxy hunt` as a real server process; return it and its URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skgalaxy",
            "hunt",
            "--data",
            str(data),
            "--session",
            str(session),
            "--port",
            "0",
            "--queries",
            "4",
            "--no-browser",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    for line in process.stdout:
        if line.startswith("Labelling page: "):
            return process, line.split(": ", 1)[1].strip()
    process.wait(timeout=10)
    raise AssertionError(f"the server did not start (exit {process.returncode})")


@contextlib.contextmanager
def running_hunt(data, session):
    """The URL of a `skgalaxy hunt` server, killed at the end (no clean-up)."""
    server, url = start_hunt(data, session)
    try:
        yield url
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)


def galaxies_file(tmp_path, n):
    """An .npz of ``n`` small 32 px galaxies in ``tmp_path``."""
    images, _ = small_galaxies(n, size=32)
    data = tmp_path / "galaxies.npz"
    np.savez(data, images=images)
    return data


def stored_labels(session):
    """The latest label of every sample, read straight from the session's store."""
    with sqlite3.connect(session / "session.sqlite") as db:
        rows = db.execute("SELECT idx, label FROM labels ORDER BY seq").fetchall()
    latest = dict(rows)
    return {i: lab for i, lab in latest.items() if lab is not None}


def wait_for(driver, condition, timeout=120):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except Exception as exc:
        status = driver.find_element(By.ID, "status").text
        raise AssertionError(f"page status {status!r}") from exc


def cards(driver):
    return driver.find_elements(By.CSS_SELECTOR, "#queries .card")


def card_label(driver, position):
    """The label a card shows, read in one step (the page re-renders)."""
    return driver.execute_script(
        "const labels = document.querySelectorAll('#queries .card .label');"
        "const label = labels[arguments[0]];"
        "return label ? label.textContent : null;",
        position,
    )


def shown_indices(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#queries .card')]"
        ".map(card => Number(card.dataset.index));"
    )


def press(driver, *keys):
    ActionChains(driver).send_keys(*keys).perform()


def test_label_by_click_and_keyboard_kill_and_resume(tmp_path, browser):
    data, session = galaxies_file(tmp_path, 40), tmp_path / "hunt1"
    with running_hunt(data, session) as url:
        browser.get(url)
        wait_for(browser, lambda d: len(cards(d)) == 4)
        shown = shown_indices(browser)

        # A new class by its field (the first card is selected), then by keys.
        field = browser.find_element(By.ID, "new-class")
        field.send_keys("merger", Keys.ENTER)
        wait_for(browser, lambda d: card_label(d, 0) == "merger")
        press(browser, "1")  # the second card: class 1, now "merger"
        wait_for(browser, lambda d: card_label(d, 1) == "merger")
        press(browser, "0")  # the third: not interesting
        wait_for(browser, lambda d: card_label(d, 2) == "not interesting")
        # The fourth by a click on its button, then renamed: a new class.
        browser.find_elements(By.CSS_SELECTOR, "#queries .card")[3].find_element(
            By.CSS_SELECTOR, "button[data-label='merger']"
        ).click()
        wait_for(browser, lambda d: card_label(d, 3) == "merger")
        browser.find_element(By.ID, "new-class").send_keys("lens", Keys.ENTER)
        wait_for(browser, lambda d: card_label(d, 3) == "lens")
        assert stored_labels(session) == {
            shown[0]: '"merger"',
            shown[1]: '"merger"',
            shown[2]: '"not interesting"',
            shown[3]: '"lens"',
        }

        # The next round, by keyboard; its first galaxy labelled by a key.
        press(browser, Keys.ARROW_LEFT)
        ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(
            Keys.SHIFT
        ).perform()
        wait_for(
            browser, lambda d: "Round 2" in d.find_element(By.ID, "round-info").text
        )
        second = shown_indices(browser)
        assert not set(second) & set(shown)
        press(browser, "1")
        wait_for(browser, lambda d: card_label(d, 0) == "merger")
        history = browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")
        assert [row.text.split()[:4] for row in history] == [["1", "4", "4", "3"]]
        screenshot = os.environ.get("SKGALAXY_SCREENSHOT")
        browser.save_screenshot(screenshot or str(tmp_path / "page.png"))
        # A label that is HTML shows as text and runs nothing.
        field = browser.find_element(By.ID, "new-class")
        field.send_keys("<b>x</b><script>alert(1)</script>", Keys.ENTER)
        wait_for(browser, lambda d: card_label(d, 1).startswith("<b>"))
        assert card_label(browser, 1) == "<b>x</b><script>alert(1)</script>"
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 - the script never ran
        assert (
            stored_labels(session)[second[1]] == '"<b>x</b><script>alert(1)</script>"'
        )

    with running_hunt(data, session) as url:
        started = time.perf_counter()
        browser.get(url)
        wait_for(
            browser, lambda d: "Round 2" in d.find_element(By.ID, "round-info").text
        )
        assert shown_indices(browser) == second
        assert card_label(browser, 0) == "merger"
        assert stored_labels(session)[second[0]] == '"merger"'
        assert card_label(browser, 1) == "<b>x</b><script>alert(1)</script>"
        assert len(stored_labels(session)) == 6
        assert time.perf_counter() - started < 60


def browse_indices(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#browse .card')]"
        ".map(card => Number(card.dataset.index));"
    )


def test_stretch_zoom_browse_similar_bulk_labels_and_map(tmp_path, browser):
    from selenium.webdriver.support.ui import Select

    data, session = galaxies_file(tmp_path, 60), tmp_path / "hunt"
    with running_hunt(data, session) as url:
        browser.get(url)
        wait_for(browser, lambda d: len(cards(d)) == 4)

        # The stretch: every picture is fetched again in the one chosen.
        Select(browser.find_element(By.ID, "stretch")).select_by_value("arcsinh")
        pictures = "#queries .card img"
        wait_for(
            browser,
            lambda d: all(
                "stretch=arcsinh" in image.get_attribute("src")
                for image in d.find_elements(By.CSS_SELECTOR, pictures)
            ),
        )

        # Zoom: a click enlarges a galaxy; the slider scales it.
        browser.find_elements(By.CSS_SELECTOR, pictures)[0].click()
        dialog = browser.find_element(By.ID, "zoom")
        wait_for(browser, lambda d: dialog.get_attribute("open") is not None)
        enlarged = browser.find_element(By.ID, "zoom-image")
        assert "size=512" in enlarged.get_attribute("src")
        browser.execute_script(
            "arguments[0].value = 3; arguments[0].dispatchEvent(new Event('input'));",
            browser.find_element(By.ID, "zoom-level"),
        )
        assert enlarged.value_of_css_property("transform") == "matrix(3, 0, 0, 3, 0, 0)"
        press(browser, Keys.ESCAPE)
        wait_for(browser, lambda d: dialog.get_attribute("open") is None)

        # The ranked pool, 40 to a page.
        browser.find_element(By.CSS_SELECTOR, "#views [data-view='browse']").click()
        wait_for(browser, lambda d: len(browse_indices(d)) == 40)
        title = browser.find_element(By.ID, "browse-title")
        assert title.text == "Ranked pool: 1–40 of 60"
        first_page = browse_indices(browser)
        browser.find_element(By.ID, "browse-next").click()
        wait_for(browser, lambda d: len(browse_indices(d)) == 20)
        assert title.text == "Ranked pool: 41–60 of 60"
        assert browser.find_element(By.ID, "browse-next").get_attribute("disabled")
        assert not set(browse_indices(browser)) & set(first_page)

        # More like this: the galaxy itself, then its 40 nearest.
        chosen = browse_indices(browser)[0]
        browser.find_elements(By.CSS_SELECTOR, "#browse .card button")[0].click()
        like_chosen = f"The 40 galaxies most like #{chosen}"
        wait_for(browser, lambda d: title.text == like_chosen)
        wait_for(browser, lambda d: len(browse_indices(d)) == 41)
        similar = browse_indices(browser)
        assert similar[0] == chosen and chosen not in similar[1:]

        # Bulk labels: the ticked galaxies, saved at once.
        for tick in browser.find_elements(By.CSS_SELECTOR, "#browse input")[:3]:
            tick.click()
        browser.find_element(By.ID, "bulk-label").send_keys("merger")
        browser.find_element(By.ID, "bulk-save").click()
        wait_for(browser, lambda d: len(stored_labels(session)) == 3)
        assert stored_labels(session) == {i: '"merger"' for i in similar[:3]}

        # The map: a point per galaxy, the labelled ones marked; hovering one
        # shows it, clicking it shows the galaxies like it.
        browser.find_element(By.CSS_SELECTOR, "#views [data-view='map']").click()
        points = "#map circle"
        wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, points)) == 60)
        labelled = browser.find_elements(By.CSS_SELECTOR, "#map circle.labelled")
        assert sorted(int(p.get_attribute("data-index")) for p in labelled) == sorted(
            similar[:3]
        )
        point = labelled[0]
        index = int(point.get_attribute("data-index"))
        ActionChains(browser).move_to_element(point).perform()
        thumb = browser.find_element(By.ID, "map-thumb")
        wait_for(browser, lambda d: thumb.is_displayed())
        assert f"image/{index}.png" in thumb.get_attribute("src")
        screenshot = os.environ.get("SKGALAXY_MAP_SCREENSHOT")
        browser.save_screenshot(screenshot or str(tmp_path / "map.png"))
        point.click()
        wait_for(browser, lambda d: title.text == f"The 40 galaxies most like #{index}")
