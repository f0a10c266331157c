"""Regenerate the screenshots in this folder (docs/screenshots/*.png).

    python docs/screenshots/make.py

Runs tests/browser/screenshots.py: the real app on a live server with sample rows, shown in
Debian's Chromium at desktop (1280 px) and mobile (375 px) widths. Not part of CI.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

if __name__ == "__main__":
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    sys.exit(
        pytest.main(["tests/browser/screenshots.py", "-n", "0", "-q", "-p", "no:cacheprovider"])
    )
