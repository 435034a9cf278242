"""Fixtures for the event-configuration tests: the bundled event, as a model and as raw YAML data."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from schedule.config import EventConfig
from schedule.loader import BUNDLED_EVENT, load_event_config

_RAW: dict[str, Any] = yaml.safe_load(BUNDLED_EVENT.read_text(encoding="utf-8"))


@pytest.fixture
def raw() -> dict[str, Any]:
    """A fresh, mutable copy of the bundled event's YAML data."""
    return copy.deepcopy(_RAW)


@pytest.fixture(scope="session")
def event() -> EventConfig:
    """The bundled event, loaded once (models are frozen)."""
    return load_event_config(BUNDLED_EVENT)


@pytest.fixture
def write_yaml(tmp_path: Path):
    """Write data (or text) to an event file and return its path."""

    def write(data: Any) -> Path:
        path = tmp_path / "event.yaml"
        text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write
