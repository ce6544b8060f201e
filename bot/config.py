"""Settings from environment variables and an optional `.env` file (see docs/configuration.md)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.channels.whatsapp_templates import (
    Template,
    parse_cloud_templates,
    parse_twilio_templates,
)
from bot.resources import package_path
from nlu.languages import available_languages


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Storage and shared state
    data_dir: Path = Field(
        default=Path("var"),
        description="Where this deployment keeps what it writes (SQLite database, caches); "
        "relative paths start from the folder the bot is started in",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL: sqlite:///path (default: hotline.db in DATA_DIR) or "
        "postgresql://user:pw@host/db",
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
        description="Key of the lookup hashes (contact addresses, phones); unset: the key file's",
    )
    hotline_encryption_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s), comma-separated, the first encrypts; unset: the key file's",
    )
    hotline_key_dir: Path | None = Field(
        default=None,
        description="Directory of the key file hotline.keys (0600); unset: keys/ beside a SQLite "
        "database, else var/keys",
    )
    hotline_role: Literal["all", "web", "worker"] = Field(
        default="all",
        description="all: one process answers requests and sends (the default); web: answers "
        "requests only, `hotline worker` processes send the outbox, run the timers and "
        "retention (needs PostgreSQL and REDIS_URL)",
    )
    hotline_env: Literal["development", "production"] = Field(
        default="development",
        description="production: refuse to start without keys supplied by the deployer",
    )

    # Languages
    default_language: str = "en"
    # Default: every language of nlu/languages.yml with a catalog and a training file.
    enabled_languages: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Paths
    # Paths: catalogs and training data ship inside the package; a deployment may point
    # elsewhere. The cache defaults to DATA_DIR/cache.
    locales_dir: Path = Field(default_factory=lambda: package_path("locales"))
    nlu_data_dir: Path = Field(default_factory=lambda: package_path("nlu", "data"))
    cache_dir: Path | None = None

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
    console_language: str = Field(
        default="en",
        description="The console's language (en, ar or fr) for operators who have not chosen one",
    )
    handoff_escalate_minutes: float = Field(
        default=15, description="A person left unanswered this long escalates the case"
    )
    handoff_snooze_hours: float = 24
    handoff_passed_on_minutes: float = Field(
        default=5,
        description="While a case waits, at most one 'your message was passed on' note this often",
    )

    # On-call alerts (bot/alerts.py): emergency and urgent cases nobody has taken
    oncall_channel: str | None = Field(
        default=None, description="How on-call staff are alerted: sms, whatsapp or telegram"
    )
    oncall_contacts: Annotated[list[str], NoDecode] = Field(
        default=[],
        description='The escalation list, in order: "Name=address, Name=address" (a phone '
        "number for sms/whatsapp, a chat id for telegram)",
    )
    oncall_repeat_minutes: float = Field(
        default=10, gt=0, description="Until someone takes the case, the next on-call is alerted"
    )
    oncall_emergency_minutes: float = Field(
        default=5, ge=0, description="In opening hours: alert when an emergency waits this long"
    )
    oncall_urgent_minutes: float = Field(
        default=30, ge=0, description="In opening hours: alert when an urgent case waits this long"
    )
    oncall_language: str = Field(default="en", description="Language of the alert text")
    console_base_url: str | None = Field(
        default=None,
        description="The console's address for links in alerts; unset: PUBLIC_BASE_URL",
    )
    console_session_hours: float = Field(default=12, description="Console sign-in lifetime")
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for GET /metrics (Prometheus); unset: /metrics answers 404",
    )
    console_idle_minutes: float = Field(default=60, description="Sign-out after inactivity")

    # Retention (bot/retention.py): older personal data is anonymised; 0 keeps it for ever
    retention_messages_days: float = Field(
        default=180, ge=0, description="Message texts, recordings, idle contacts' addresses"
    )
    retention_closed_cases_days: float = Field(
        default=365, ge=0, description="Private notes of handoff cases closed this long ago"
    )
    retention_registrations_days: float = Field(
        default=730, ge=0, description="Names, phones, places of registrations unchanged this long"
    )
    retention_interval_minutes: float = Field(
        default=60, gt=0, description="How often the retention job runs in the server"
    )

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

    # Telegram (bot/channels/telegram/routes.py)
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

    # Twilio SMS and WhatsApp (bot/channels/twilio/routes.py)
    twilio_api_base_url: str = Field(
        default="https://api.twilio.com", description="Twilio REST API host (a fake one in tests)"
    )
    twilio_messaging_service_sid: str | None = Field(
        default=None, description="MG… Messaging Service used when no sender number is set"
    )
    twilio_whatsapp_template_sid: str | None = Field(
        default=None,
        description="HX… content SID of an approved WhatsApp template sent outside the 24 h "
        "window: the default language's (TWILIO_WHATSAPP_TEMPLATES names one per language)",
    )
    twilio_whatsapp_templates: Annotated[dict[str, Template], NoDecode] = Field(
        default={},
        description='The approved template per language outside the 24 h window: "en=HX…, '
        "ar=HX…\"; a language without one gets the default language's",
    )
    sms_max_segments: int = Field(
        default=3, ge=1, le=10, description="Longest SMS reply; longer ones are split"
    )
    twilio_status_callback: bool = Field(
        default=True, description="Ask Twilio for delivery reports (needs PUBLIC_BASE_URL)"
    )

    # WhatsApp Cloud API (bot/channels/whatsapp_cloud/)
    whatsapp_graph_base_url: str = Field(
        default="https://graph.facebook.com", description="Graph API host (a fake one in tests)"
    )
    whatsapp_graph_version: str = "v21.0"
    whatsapp_template_name: str | None = Field(
        default=None,
        description="Approved template sent outside the 24-hour window; its body has one "
        "variable {{1}} that carries the message (WHATSAPP_TEMPLATES: one per language)",
    )
    whatsapp_template_language: str | None = Field(
        default=None,
        description="The template's language code, making it the default language's "
        "template; unset: the same name in each person's language",
    )
    whatsapp_templates: Annotated[dict[str, Template], NoDecode] = Field(
        default={},
        description="The approved template per language outside the 24-hour window: "
        '"en=hotline_message:en, ha=hotline_message:ha" (name:Meta\'s language code); a '
        "language without one gets the default language's",
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

    @field_validator("oncall_contacts", mode="before")
    @classmethod
    def _split_contacts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("whatsapp_templates", mode="before")
    @classmethod
    def _cloud_templates(cls, value: object) -> object:
        return parse_cloud_templates(value) if isinstance(value, str) else value

    @field_validator("twilio_whatsapp_templates", mode="before")
    @classmethod
    def _twilio_templates(cls, value: object) -> object:
        return parse_twilio_templates(value) if isinstance(value, str) else value

    @field_validator("oncall_channel")
    @classmethod
    def _alert_channel(cls, value: str | None) -> str | None:
        value = (value or "").strip().lower() or None
        if value not in (None, "sms", "whatsapp", "telegram"):
            raise ValueError("ONCALL_CHANNEL must be sms, whatsapp or telegram")
        return value

    @field_validator("default_language")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("console_language")
    @classmethod
    def _console_language(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("en", "ar", "fr"):
            raise ValueError("CONSOLE_LANGUAGE must be en, ar or fr")
        return value

    @model_validator(mode="after")
    def _data_dir_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'hotline.db'}"
        if "enabled_languages" not in self.model_fields_set:
            self.enabled_languages = available_languages(self.locales_dir, self.nlu_data_dir)
        return self

    @property
    def cache_path(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.data_dir / "cache"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
