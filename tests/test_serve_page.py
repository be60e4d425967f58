"""The page of ``trm serve`` in a real headless Chromium (Debian's ``chromium`` + ``chromium-driver``).

Load the page, type a Sudoku into the grid, solve, step through the answer, play it, see an error in words,
then load and solve a maze, an ARC and a grid-task example. Screenshots are saved under the test's tmp dir.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from serve_helpers import N_SUP, tiny_checkpoint
from trm.data.sudoku import generate

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HEADLESS_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--window-size=1300,900",
]  # fmt: skip

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="page tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """uvicorn on a free localhost port, in a thread, serving tiny Sudoku 6x6, maze, ARC and grid models."""
    import uvicorn

    from trm.serve.app import create_app
    from trm.serve.registry import load_models

    root = tmp_path_factory.mktemp("page")
    models = load_models([str(tiny_checkpoint(root, k)) for k in ("sudoku", "maze", "arc", "grid")], "cpu")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(models), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", models
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in HEADLESS_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def cells(driver, grid_id: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, f"#{grid_id} .cell")


def text_of(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def test_type_solve_step_play_and_errors(served, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, models = served
    solver = models["sudoku"].solver
    browser.get(url)
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#model option")) == 4
    assert "N_sup 3" in text_of(browser, "model-info")

    # type a 6x6 puzzle into the editor grid
    puzzle = generate(6, count=1, seed=7)[0].puzzle
    inputs = browser.find_elements(By.CSS_SELECTOR, "#editor .cell input")
    assert len(inputs) == 36
    for box, value in zip(inputs, puzzle.reshape(-1), strict=True):
        if value:
            box.send_keys(str(int(value)))
    browser.find_element(By.ID, "solve").click()
    wait_for(browser, lambda d: text_of(d, "step-label").startswith(f"step {N_SUP} / {N_SUP}"))

    expected = solver.solve(puzzle)
    shown = cells(browser, "answer")
    assert len(shown) == 36
    digits = [int(c.text) if c.text else 0 for c in shown]
    assert digits == expected.answer.reshape(-1).tolist()  # the final grid on the page is the model's
    clues = [("clue" in c.get_attribute("class")) for c in shown]
    assert clues == (puzzle.reshape(-1) != 0).tolist()  # clue cells drawn distinct
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart circle")) == N_SUP  # q_halt per step
    verdict = "valid by the sudoku rules" if expected.valid else "not a valid answer"
    assert verdict in text_of(browser, "verdict")
    assert "halting head" in text_of(browser, "halt")
    browser.save_screenshot(str(tmp_path / "serve.png"))

    # step 1 via the slider: the changed cells are exactly the model's changes at step 1
    slider = browser.find_element(By.ID, "step")
    slider.send_keys(Keys.HOME)
    wait_for(browser, lambda d: text_of(d, "step-label").startswith(f"step 1 / {N_SUP}"))
    changed = [("changed" in c.get_attribute("class")) for c in cells(browser, "answer")]
    assert changed == expected.trace[0].changed.reshape(-1).tolist()

    # play runs to the last step and stops
    browser.find_element(By.ID, "play").click()
    wait_for(browser, lambda d: text_of(d, "step-label").startswith(f"step {N_SUP} / {N_SUP}"))
    wait_for(browser, lambda d: text_of(d, "play") == "Play")

    # test-time compute from the page: the chosen candidate is named
    browser.find_element(By.ID, "ttc").send_keys("noise:k=2")
    browser.find_element(By.ID, "solve").click()
    wait_for(browser, lambda d: "of 2 chosen" in text_of(d, "halt"))
    browser.find_element(By.ID, "ttc").clear()

    # a bad pasted puzzle: an error in words on the page, no answer is lost
    area = browser.find_element(By.ID, "text")
    area.send_keys("12x4")
    browser.find_element(By.ID, "solve").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "error").is_displayed())
    assert "bad puzzle" in text_of(browser, "error")


def grid_values(driver, grid_id: str) -> np.ndarray:
    """The values drawn in a grid on the page, by each cell's data-row/data-col (one script call)."""
    found = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map(c => [+c.dataset.row, +c.dataset.col, +c.dataset.value]);",
        f"#{grid_id} .cell",
    )
    out = np.zeros((max(r for r, _, _ in found) + 1, max(c for _, c, _ in found) + 1), dtype=np.int64)
    for r, c, v in found:
        out[r, c] = v
    return out


@pytest.mark.parametrize("name", ["maze", "arc", "grid"])
def test_load_an_example_and_solve(served, browser, tmp_path, name):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, models = served
    browser.get(url)
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    Select(browser.find_element(By.ID, "model")).select_by_value(name)
    if name != "maze":  # paint a cell with a colour (ARC) or a symbol (grid task) from the palette
        swatches = browser.find_elements(By.CSS_SELECTOR, "#palette .cell")
        assert len(swatches) == (10 if name == "arc" else len(models[name].solver.task.symbols))
        swatches[2].click()
        cells(browser, "editor")[0].click()
        assert grid_values(browser, "editor")[0, 0] == 2
    browser.find_element(By.ID, "example").click()
    wait_for(browser, lambda d: "example:" in text_of(d, "source"))
    question = grid_values(browser, "editor")
    if name == "maze":
        assert question.shape == (7, 7) and (question == 1).any()  # walls drawn
    browser.find_element(By.ID, "solve").click()
    wait_for(browser, lambda d: text_of(d, "step-label").startswith(f"step {N_SUP} / {N_SUP}"))
    expected = models[name].solver.solve(question).answer
    if expected.size:
        assert np.array_equal(grid_values(browser, "answer"), expected)
    else:  # an untrained ARC model may draw no grid at all: the page says so
        assert "no grid" in text_of(browser, "answer")
    browser.save_screenshot(str(tmp_path / f"serve_{name}.png"))
    assert (tmp_path / f"serve_{name}.png").stat().st_size > 1000


def test_a_particle_search_draws_its_particles(served, browser, tmp_path):
    """A preset smc spec from the page: one row per particle, one small grid per step, the chosen particle
    marked, each grid's differing cells as the API sends them; a plain solve hides the strip again."""
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, _ = served
    browser.get(url)
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    Select(browser.find_element(By.ID, "model")).select_by_value("sudoku")
    browser.find_element(By.ID, "example").click()
    wait_for(browser, lambda d: "example:" in text_of(d, "source"))
    spec = "smc:k=4,sigma=1"
    Select(browser.find_element(By.ID, "ttc-preset")).select_by_value(spec)
    assert browser.find_element(By.ID, "ttc").get_attribute("value") == spec
    assert not browser.find_element(By.ID, "particles-panel").is_displayed()
    browser.find_element(By.ID, "solve").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "particles-panel").is_displayed())

    body = {"model": "sudoku", "puzzle": grid_values(browser, "editor").tolist(), "ttc": spec}
    expected = httpx.post(url + "/api/solve", json=body, timeout=60).json()["ttc"]["particles"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#particles .particle-row[data-particle]")
    assert [int(r.get_attribute("data-particle")) for r in rows] == expected["shown"] == [0, 1, 2, 3]
    chosen = browser.find_elements(By.CSS_SELECTOR, "#particles .particle-row.chosen")
    assert [int(r.get_attribute("data-particle")) for r in chosen] == [expected["chosen"]]
    drawn = browser.execute_script(
        "return [...document.querySelectorAll('#particles .mini')]"
        ".map(m => [+m.dataset.particle, +m.dataset.step, +m.dataset.diff]);"
    )
    sent = sorted([p["id"], s["index"], len(p["cells"])] for s in expected["steps"] for p in s["particles"])
    assert sorted(drawn) == sent and len(drawn) == 4 * N_SUP
    assert "4 particles over 3 steps" in text_of(browser, "particles-info")
    browser.execute_script("document.getElementById('particles-panel').scrollIntoView();")
    browser.save_screenshot(str(tmp_path / "serve_particles.png"))

    # noise trajectories draw the same strip: every particle its own lineage, none resampled away
    Select(browser.find_element(By.ID, "ttc-preset")).select_by_value("noise:k=8,sigma=0.2")
    browser.find_element(By.ID, "solve").click()
    wait_for(browser, lambda d: "8 particles over 3 steps" in text_of(d, "particles-info"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#particles .particle-row[data-particle]")
    assert [int(r.get_attribute("data-particle")) for r in rows] == list(range(8))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#particles .mini")) == 8 * N_SUP
    assert browser.find_elements(By.CSS_SELECTOR, "#particles .mini.dropped") == []
    assert not any(e.text for e in browser.find_elements(By.CSS_SELECTOR, "#particles .from"))

    Select(browser.find_element(By.ID, "ttc-preset")).select_by_value("")
    browser.find_element(By.ID, "solve").click()
    wait_for(browser, lambda d: not d.find_element(By.ID, "particles-panel").is_displayed())
    assert browser.find_elements(By.CSS_SELECTOR, "#particles .mini") == []
