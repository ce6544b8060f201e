"""Settings from environment variables and an optional `.env` file (see docs/configuration.md)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import PROJECT_ROOT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Storage and shared state
    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'hotline.db'}",
        description="SQLAlchemy URL: sqlite:///path (default) or postgresql://user:pw@host/db",
    )
    redis_url: str | None = Field(
        default=None, description="redis://host:port/db; sessions and locks"
    )
    rasa_url: str | None = Field(
        default=None, description="Rasa server for intents, e.g. http://127.0.0.1:5005"
    )

    # Secrets
    hotline_secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Signs sessions and keys the contact-address hash; set it in production",
    )
    hotline_encryption_key: SecretStr | None = Field(
        default=None, description="Fernet key: encrypts personal data at rest when set"
    )

    # Languages
    default_language: str = "en"
    enabled_languages: Annotated[list[str], NoDecode] = ["en", "ar", "fr", "ha"]

    # Paths
    locales_dir: Path = PROJECT_ROOT / "locales"
    nlu_data_dir: Path = PROJECT_ROOT / "nlu" / "data"
    cache_dir: Path = PROJECT_ROOT / "var" / "cache"

    # Conversation behaviour
    misunderstandings_before_handoff: int = 2
    max_message_chars: int = 4096
    lock_timeout_seconds: float = 30.0

    # Operators and handoff
    operator_hours: str = Field(
        default="sun-thu 08:00-17:00",
        description='When operators answer, e.g. "sun-thu 08:00-17:00; sat 09:00-13:00", "always"',
    )
    operator_timezone: str = "Africa/Tripoli"
    handoff_escalate_minutes: float = Field(
        default=15, description="A person left unanswered this long escalates the case"
    )
    handoff_snooze_hours: float = 24
    console_session_hours: float = Field(default=12, description="Console sign-in lifetime")
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for GET /metrics (Prometheus); unset: /metrics answers 404",
    )
    console_idle_minutes: float = Field(default=60, description="Sign-out after inactivity")

    # Outbox (messages sent later through a provider)
    outbox_max_attempts: int = 8
    outbox_poll_seconds: float = 5.0

    # Provider credentials (used by the channel modules)
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_phone_number: str | None = None
    twilio_whatsapp_number: str | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None

    # Telegram (bot/channels/telegram.py)
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot", description="Bot API base (a fake one in tests)"
    )
    telegram_file_base_url: str = Field(
        default="https://api.telegram.org/file/bot", description="Bot API file download base"
    )
    telegram_polling: bool = Field(
        default=False,
        description="Fetch updates by long polling instead of the webhook (development; "
        "`hotline serve --telegram-polling` sets it)",
    )
    telegram_chat_rate: float = Field(
        default=1.0, gt=0, description="Messages per second to one chat (Telegram: about 1)"
    )
    telegram_chat_burst: int = Field(
        default=1, ge=1, description="Messages one chat may get at once before the rate applies"
    )
    telegram_global_rate: float = Field(
        default=30.0, gt=0, description="Messages per second over all chats (Telegram: about 30)"
    )

    # Twilio SMS and WhatsApp (bot/channels/twilio_messaging.py)
    twilio_api_base_url: str = Field(
        default="https://api.twilio.com", description="Twilio REST API host (a fake one in tests)"
    )
    twilio_messaging_service_sid: str | None = Field(
        default=None, description="MG… Messaging Service used when no sender number is set"
    )
    twilio_whatsapp_template_sid: str | None = Field(
        default=None,
        description="HX… content SID of an approved WhatsApp template sent outside the 24 h window",
    )
    sms_max_segments: int = Field(
        default=3, ge=1, le=10, description="Longest SMS reply; longer ones are split"
    )
    twilio_status_callback: bool = Field(
        default=True, description="Ask Twilio for delivery reports (needs PUBLIC_BASE_URL)"
    )

    # WhatsApp Cloud API (bot/channels/whatsapp_cloud.py)
    whatsapp_graph_base_url: str = Field(
        default="https://graph.facebook.com", description="Graph API host (a fake one in tests)"
    )
    whatsapp_graph_version: str = "v21.0"
    whatsapp_template_name: str | None = Field(
        default=None,
        description="Approved template sent outside the 24-hour window; its body has one "
        "variable {{1}} that carries the message",
    )
    whatsapp_template_language: str | None = Field(
        default=None, description="The template's language code; unset: the person's language"
    )

    # Voice hotline (bot/channels/voice/)
    voice_queue_name: str = Field(
        default="hotline", max_length=64, description="Twilio queue callers wait in for operators"
    )
    voice_queue_wait_seconds: int = Field(
        default=300, ge=10, description="Longest wait in the queue before a message is offered"
    )
    voice_max_recording_seconds: int = Field(
        default=120, ge=5, le=600, description="Longest message a caller can leave"
    )
    voice_name_recording_seconds: int = Field(
        default=10, ge=3, le=60, description="Longest recording of a caller's name"
    )
    voice_gather_timeout_seconds: int = Field(
        default=6, ge=2, le=30, description="Seconds of silence before a menu counts as no answer"
    )
    voice_hold_pause_seconds: int = Field(
        default=20, ge=5, le=120, description="Pause between hold messages in the queue"
    )

    public_base_url: str | None = Field(
        default=None, description="The URL providers call, for signature checks behind a proxy"
    )

    @field_validator("enabled_languages", mode="before")
    @classmethod
    def _split_languages(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("default_language")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()

    @property
    def secret_key_bytes(self) -> bytes:
        key = self.hotline_secret_key.get_secret_value()
        # An unset key still works for a local trial; docs/configuration.md says to set one.
        return (key or "hotline-development-key-change-me").encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
