"""The design report rendered by headless Chromium (selenium): every image decoded (naturalWidth > 0),
the tables hold one row per candidate, and the console logs no error. Skipped without chromium and
chromedriver (scripts/install_browser.sh) unless ``SERENDIP_REQUIRE_BROWSER=1`` (CI), which makes that
a failure."""
from __future__ import annotations

import os
import shutil

import pytest
from chem_helpers import tiny_model_folder

from serendip.chem.design.property import PropertyOracle
from serendip.chem.report import write_report

CHROMIUM = "/usr/bin/chromium"


def _driver():
    why = None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        why = "selenium is not installed (pip install 'serendip[test]')"
    driver_path = shutil.which("chromedriver")
    if why is None and not (os.path.exists(CHROMIUM) and driver_path):
        why = f"{CHROMIUM} or chromedriver missing (scripts/install_browser.sh)"
    if why is not None:
        if os.environ.get("SERENDIP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SERENDIP_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=opts)


def test_report_renders_in_headless_chromium(tmp_path):
    driver = _driver()                       # first: skip (or fail) before any training
    try:
        folder = tiny_model_folder(tmp_path / "model")
        oracle = PropertyOracle(folder, qed_min=0.3, constraints=["no_pains"])
        cands = ["Cc1ccc(O)cc1", "c1ccncc1C(=O)O", "O=C1NC(=S)SC1=Cc1ccccc1"]
        page = write_report(tmp_path / "report.html", oracle, cands, names=["<b>x</b>", "y", "z"], neighbours=2)
        driver.get(page.resolve().as_uri())
        widths = driver.execute_script(
            "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0);")
        assert len(widths) == 3 + 1 + 3 * 2 and all(w > 0 for w in widths), widths
        rows = driver.execute_script("return document.querySelectorAll('#scores tbody tr').length;")
        nn = driver.execute_script("return document.querySelectorAll('#neighbours tbody tr').length;")
        assert (rows, nn) == (3, 3)
        assert driver.execute_script("return document.querySelectorAll('b').length;") == 3  # the name stays text
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()
