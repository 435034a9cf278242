"""Runtime settings, read from the environment and `.env` by a factory (never at import time)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schedule.loader import BUNDLED_EVENT

OFFICIAL_API_URL = "https://api.telegram.org"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/hackbot.db"

# BotFather tokens look like "123456789:AA...": a numeric bot id, a colon, a 30+ character secret.
# The simulator accepts shorter secrets, so we only require the general shape.
_TOKEN_SHAPE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{4,}$")


class SettingsError(Exception):
    """Settings are missing or malformed; the message is one line meant for a person."""


class Settings(BaseSettings):
    """Everything that changes between deployments; the event itself lives in the event file."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = OFFICIAL_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    # PostgreSQL only: the schema to use (lets several bots, or test runs, share one database).
    database_schema: str | None = None
    event_config: Path = BUNDLED_EVENT
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Webhook mode (optional): the public HTTPS URL Telegram posts to, and the shared secret.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    # Receive updates by webhook instead of long polling (same as `hackbot run --webhook`).
    webhook_mode: bool = False
    # The organisers' dashboard (served by the same web server, in polling and webhook mode alike),
    # and the public base URL of that server for sign-in links (default: http://WEB_HOST:WEB_PORT).
    dashboard_enabled: bool = True
    dashboard_url: str | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def bot_token(self) -> str:
        """Return the token, or raise a one-line `SettingsError` if it is missing or malformed."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value().strip():
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in .env"
            )
        token = self.telegram_bot_token.get_secret_value().strip()
        if not _TOKEN_SHAPE.match(token):
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (expected digits, a colon, then letters)"
            )
        return token

    @property
    def bot_api_base_url(self) -> str:
        """PTB's `base_url`: the API root followed by `/bot` (PTB appends the token)."""
        return f"{self.telegram_api_url}/bot"

    @property
    def bot_file_base_url(self) -> str:
        """PTB's `base_file_url` for downloads."""
        return f"{self.telegram_api_url}/file/bot"


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, `.env` and explicit overrides.

    Raises `SettingsError` with one readable line instead of pydantic's multi-line report.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]).upper()
        raise SettingsError(f"{field}: {first['msg']}") from None
