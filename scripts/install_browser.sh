#!/usr/bin/env bash
# Headless Chromium and its WebDriver for the browser test of the HTML design report
# (tests/unit/chem/test_report_browser.py). Idempotent: installs Debian's chromium and chromium-driver
# with apt-get only when /usr/bin/chromium is missing. Needs root (or sudo) and a Debian/Ubuntu apt.
set -euo pipefail
if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver
/usr/bin/chromium --version
