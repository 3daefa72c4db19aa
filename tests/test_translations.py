"""Every language we offer customers speaks every word they read (issue 24: a test fails on an
untranslated string), with the same placeholders as the English."""

import pytest
from django.conf import settings
from django.utils.translation import to_locale

from tests.catalogs import PLACEHOLDER, catalogs, read_po

LANGUAGES = [to_locale(code) for code, _name in settings.LANGUAGES if code != "en"]


def test_every_language_offered_has_a_catalog():
    assert sorted(catalogs()) == sorted(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_customer_facing_string_is_translated(language):
    entries = read_po(catalogs()[language])
    missing = [e.msgid for e in entries if e.customer_facing and not e.translated]
    assert len([e for e in entries if e.customer_facing]) > 150
    assert missing == [], f"{language}: {len(missing)} untranslated, e.g. {missing[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(language):
    """Staff too read the console and the admin in the language they chose: no English holes."""
    missing = [e.msgid for e in read_po(catalogs()[language]) if not e.translated]
    assert missing == [], f"{language}: {len(missing)} untranslated, e.g. {missing[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    wrong = []
    for entry in read_po(catalogs()[language]):
        expected = sorted(set(PLACEHOLDER.findall(entry.msgid + entry.msgid_plural)))
        for text in filter(None, entry.msgstrs):
            found = sorted(set(PLACEHOLDER.findall(text)))
            # a one-form plural (ja, zh) may drop a count the sentence does not need
            if found != expected and not set(found) <= set(expected):
                wrong.append((entry.msgid, text))
    assert wrong == []
