"""The Bot API specification bundled with the simulator, used when no shared copy is beside the project."""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator.spec as spec_module
from simulator.spec import BUNDLED_SPEC, SHARED_SPEC, ApiSpec, default_spec_path


def test_a_fresh_clone_without_shared_uses_the_bundled_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without $TELEGRAM_API_SPEC and without ../shared, the simulator reads simulator/bundled/api.json."""
    monkeypatch.delenv("TELEGRAM_API_SPEC", raising=False)
    monkeypatch.setattr(spec_module, "SHARED_SPEC", tmp_path / "missing" / "api.json")
    assert default_spec_path() == BUNDLED_SPEC
    spec = ApiSpec.load()
    assert "sendMessage" in spec.methods and "Message" in spec.types


@pytest.mark.skipif(not SHARED_SPEC.is_file(), reason="no shared/telegram-bot-api beside the project")
def test_the_bundled_copy_is_the_shared_one() -> None:
    """Both copies are byte-for-byte identical, so tests and demos validate against the same rules."""
    assert BUNDLED_SPEC.read_bytes() == SHARED_SPEC.read_bytes()
