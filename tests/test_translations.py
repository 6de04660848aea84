"""The console's catalogues: every phrase translated, and the compiled files current."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask, render_template_string, session

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
    # Compare what the compiled file says, not its bytes: each Babel release writes its own
    # name into the header, so bytes would tie the test to one version of the tool.
    with (folder / "messages.mo").open("rb") as source:
        compiled = read_mo(source)
    assert _phrases(compiled) == _phrases(catalog), "run the README's pybabel compile command"


def _phrases(catalog: Catalog) -> dict[object, object]:
    return {
        _hashable(message.id): _hashable(message.string)
        for message in catalog
        if message.id and not message.fuzzy
    }


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def test_every_phrase_in_the_code_is_in_the_catalogues() -> None:
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[1]
    method_map = [("app/web/**.py", "python"), ("app/web/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "_n": None, "lazy_gettext": None}
    found = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(root), method_map, keywords=keywords)
    }
    for language in ("da", "en"):
        with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
            catalog = read_po(source, locale=language)
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        assert not found - known, (language, sorted(found - known))


GAPS = "'%(num)d gap in the next %(days)d days', '%(num)d gaps in the next %(days)d days'"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "da",
            "Hvem svarer nu | Aftale: &lt;b&gt;Øst&lt;/b&gt; | "
            "1 hul de næste 7 dage | 3 huller de næste 7 dage",
        ),
        (
            "en",
            "Who answers now | Agreement: &lt;b&gt;Øst&lt;/b&gt; | "
            "1 gap in the next 7 days | 3 gaps in the next 7 days",
        ),
    ],
)
def test_a_page_translates_in_its_language_escapes_what_it_fills_in_and_picks_the_plural(
    app: Flask, language: str, expected: str
) -> None:
    # The pages' `_`, `gettext` and `ngettext` are bound to the page's catalogue once a page
    # (app/web/setup.py): they must translate, escape and format as Jinja's own do.
    template = (
        "{{ _('Who answers now') }} | {{ gettext('Agreement: %(name)s', name=name) }} | "
        f"{{{{ ngettext({GAPS}, 1, days=7) }}}} | {{{{ ngettext({GAPS}, 3, days=7) }}}}"
    )
    with app.test_request_context("/"):
        session["language"] = language
        assert render_template_string(template, name="<b>Øst</b>") == expected
