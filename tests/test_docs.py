"""Every setting is documented for deployers."""

from __future__ import annotations

from bot import PROJECT_ROOT
from bot.config import Settings


def test_every_setting_is_in_the_configuration_guide() -> None:
    guide = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in guide]
    assert missing == [], f"document these in docs/configuration.md: {missing}"
