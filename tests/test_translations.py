"""The console's catalogues: every phrase translated, and the compiled files current."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[1] / "app" / "web" / "translations"


@pytest.mark.parametrize("language", ["da", "en"])
def test_every_phrase_is_translated_and_the_compiled_catalogue_is_current(language: str) -> None:
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    untranslated = [
        m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    assert not untranslated, untranslated
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert compiled.getvalue() == (folder / "messages.mo").read_bytes(), (
        "run the README's pybabel compile command"
    )
