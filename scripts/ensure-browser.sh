#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver for the admin page's browser test, only when they are missing
# and this runs as root with apt-get. Otherwise it does nothing (the browser test then skips and says why).
set -u
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-browser: no Chromium, and installing it needs root and apt-get: the browser tests will skip" >&2
  exit 0
fi
echo "ensure-browser: installing Debian's chromium and chromium-driver"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q chromium chromium-driver; then
  # The package lists may be missing or stale: refresh them once and try again.
  apt-get update -q && apt-get install -y -q chromium chromium-driver ||
    echo "ensure-browser: could not install Chromium: the browser tests will skip" >&2
fi
exit 0
