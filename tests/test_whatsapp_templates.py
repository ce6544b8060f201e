"""The approved WhatsApp template per language: the settings' shape, the older single settings,
the fallback to the default language's template, and what the settings page shows."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from bot.channels.whatsapp_templates import Template, configured_templates, template_for
from bot.config import Settings
from bot.shown_settings import effective_settings

HX_EN, HX_HA = "HX" + "e" * 32, "HX" + "4" * 32


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_the_settings_read_a_template_per_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "WHATSAPP_TEMPLATES", " en=hotline_message:en, ha=hotline_sako ,fr=msg:fr_CI"
    )
    monkeypatch.setenv("TWILIO_WHATSAPP_TEMPLATES", f"EN={HX_EN},ha={HX_HA}")
    read = settings()
    assert read.whatsapp_templates == {
        "en": Template("hotline_message", "en"),
        "ha": Template("hotline_sako", "ha"),  # Meta's code is the language's own
        "fr": Template("msg", "fr_CI"),
    }
    assert read.twilio_whatsapp_templates == {
        "en": Template(HX_EN, "en"),
        "ha": Template(HX_HA, "ha"),
    }


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("whatsapp_templates", "hotline_message", "language=template"),
        ("whatsapp_templates", "en=Hotline Message:en", "not a template name"),
        ("whatsapp_templates", "en=hotline_message:en-US", "not a Meta language code"),
        ("whatsapp_templates", "en=a:en, en=b:en", "given twice"),
        ("twilio_whatsapp_templates", "ha=HX123", "not a content SID"),
        ("twilio_whatsapp_templates", "=HX" + "4" * 32, "language=template"),
    ],
)
def test_a_wrong_entry_stops_the_start_naming_the_setting(name: str, value: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(**{name: value})
    assert says in str(caught.value) and name.upper() in str(caught.value)


def test_the_older_single_settings_still_count() -> None:
    # one name, no language: that name approved in every enabled language (the earlier advice)
    one_name = settings(whatsapp_template_name="hotline_message")
    assert {"en", "ar", "fr", "ha"} <= set(one_name.enabled_languages)
    assert configured_templates(one_name, "whatsapp_cloud") == {
        lang: Template("hotline_message", lang) for lang in one_name.enabled_languages
    }
    # with a language: the default language's template; a per-language entry wins over it
    fixed = settings(
        whatsapp_template_name="hotline_message",
        whatsapp_template_language="en_GB",
        whatsapp_templates="ha=hotline_sako:ha",
        default_language="en",
    )
    assert configured_templates(fixed, "whatsapp_cloud") == {
        "en": Template("hotline_message", "en_GB"),
        "ha": Template("hotline_sako", "ha"),
    }
    twilio = settings(twilio_whatsapp_template_sid=HX_EN, twilio_whatsapp_templates=f"ha={HX_HA}")
    assert configured_templates(twilio, "whatsapp") == {
        "en": Template(HX_EN, "en"),
        "ha": Template(HX_HA, "ha"),
    }
    assert configured_templates(twilio, "telegram") == {}


def test_a_language_without_a_template_gets_the_default_languages(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configured = settings(
        whatsapp_templates="en=hotline_message:en, ha=hotline_sako:ha", default_language="en"
    )
    with caplog.at_level(logging.INFO):
        assert template_for(configured, "whatsapp_cloud", "ha") == Template("hotline_sako", "ha")
        assert caplog.text == ""
        assert template_for(configured, "whatsapp_cloud", "ti") == Template("hotline_message", "en")
        assert template_for(configured, "whatsapp_cloud", None) == Template("hotline_message", "en")
    assert "none configured for language ti on whatsapp_cloud" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO):  # a broadcast's preview asks for every person: quietly
        assert template_for(configured, "whatsapp_cloud", "fr", quiet=True) is not None
    assert caplog.text == ""
    # without the default language's, a language without its own has none
    only_hausa = settings(twilio_whatsapp_templates=f"ha={HX_HA}")
    assert template_for(only_hausa, "whatsapp", "ha") == Template(HX_HA, "ha")
    assert template_for(only_hausa, "whatsapp", "fr") is None


def test_the_settings_page_shows_the_templates_by_language() -> None:
    shown = {
        name: value
        for name, value, _ in effective_settings(
            settings(whatsapp_templates="en=hotline_message:en,ha=hotline_sako:ha")
        )
    }
    assert shown["whatsapp_templates"] == "en=hotline_message:en, ha=hotline_sako:ha"
    assert shown["twilio_whatsapp_templates"] == ""
