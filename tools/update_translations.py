"""Extract the user-facing strings and merge them into each language's catalogue.

    python tools/update_translations.py      (make translations)

New strings arrive untranslated (and a test fails until they are translated); strings no longer used
are dropped.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "frontend_templates" / "locale"


def main() -> None:
    pot = LOCALE / "messages.pot"
    pybabel = [sys.executable, "-m", "babel.messages.frontend"]
    common = ["--no-location", "--omit-header", "--sort-output", "--width", "110"]
    subprocess.run(
        [*pybabel, "extract", "-F", str(ROOT / "babel.cfg"), *common, "-o", str(pot), str(ROOT)],
        check=True,
    )
    for catalogue in sorted(LOCALE.glob("*/LC_MESSAGES/messages.po")):
        if catalogue.parent.parent.name == "sr_Cyrl":
            continue  # written from sr_Latn below
        subprocess.run(
            [
                *pybabel,
                "update",
                "-i",
                str(pot),
                "-o",
                str(catalogue),
                "--ignore-obsolete",
                "--no-fuzzy-matching",
                "--width",
                "110",
                "-l",
                catalogue.parent.parent.name,
            ],
            check=True,
        )
    subprocess.run([sys.executable, str(ROOT / "tools" / "cyrillic_catalogue.py")], check=True)


if __name__ == "__main__":
    main()
