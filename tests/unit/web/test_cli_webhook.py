"""`hackbot run --webhook`: refused with one line when Telegram could not reach us."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.cli import build_parser, run_bot
from bot.settings import Settings, SettingsError
from tests.support.harness import bundled_event


def test_webhook_flag_is_parsed():
    """`--webhook` is an option of `run`; polling stays the default."""
    assert build_parser().parse_args(["run", "--webhook"]).webhook is True
    assert build_parser().parse_args(["run"]).webhook is False


def test_webhook_mode_needs_a_public_url_with_the_official_api():
    """Without WEBHOOK_URL, Telegram's servers would have nowhere to post: one readable error."""
    settings = Settings(telegram_bot_token=SecretStr("123456789:abcdEFGH"), _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(SettingsError, match="WEBHOOK_URL"):
        run_bot(settings, bundled_event(), webhook=True)
