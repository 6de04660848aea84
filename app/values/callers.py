"""What identifies a caller: the unit code, the kinds of caller, the languages of the prompts."""

from __future__ import annotations

import re

CALLER_KINDS = (
    "home_nursing",
    "nursing_home",
    "temporary_stay",
    "residential",
    "gp",
    "acute_1813",
    "acute_nursing",  # the municipalities' acute nursing teams (akutsygepleje)
    "nursing_home_doctor",  # plejehjemslæge
    "other",
)
LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"
UNIT_CODE = re.compile(r"[0-9]{4,8}")
UNIT_CODE_RULE = "must be 4 to 8 digits"


def unit_code(text: str | None) -> str | None:
    """Return the unit code in keys typed or a file's cell (a closing # is dropped), or None."""
    code = (text or "").strip().rstrip("#").strip()
    return code if UNIT_CODE.fullmatch(code) else None
