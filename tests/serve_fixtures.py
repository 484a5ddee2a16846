"""What the tests of `prove serve` share: the texts they send and where Chromium is."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THEOREM5 = (ROOT / "proofs" / "theorem5.yaml").read_text()
SLIP = (ROOT / "examples" / "theorem5-slip.yaml").read_text()
HW = str(ROOT / "examples" / "hw.yaml")


def chromium() -> str | None:
    """Debian's Chromium (or the binary PROVE_CHROMIUM names), or None."""
    for cand in (os.environ.get("PROVE_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None
