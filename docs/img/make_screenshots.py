"""Make the report screenshots shown in README.md and docs/reports.md.

Run from the repository root (needs Debian's ``chromium``)::

    python docs/img/make_screenshots.py

It runs ``pbr-eval demo`` in a temporary folder, then renders the pilot and
tariff reports in headless Chromium with the same flags as
tests/test_browser.py, writing docs/img/pilot_report.png and
docs/img/tariff_report.png (the top of each report, 1100 px wide).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]
HERE = Path(__file__).resolve().parent


def main() -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium not found: apt-get install -y chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pbr_eval.cli", "demo"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        for name, height in (("pilot", 2600), ("tariff", 2000)):
            page = Path(tmp) / "reports" / "demo" / f"{name}.html"
            out = HERE / f"{name}_report.png"
            subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp}/profile-{name}",
                            f"--window-size=1100,{height}", f"--screenshot={out}",
                            page.as_uri()], check=True, capture_output=True)
            print(f"wrote {out.relative_to(HERE.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
