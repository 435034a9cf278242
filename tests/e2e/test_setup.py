"""Setting up a real bot: /groupe_equipe in the staff group, and `hackbot check-config --online`.

The command runs in the real application against the simulator; the online check runs the real
command line in a child process whose Bot API is the simulator (`TELEGRAM_API_URL`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import yaml

from models.db import Database
from schedule.loader import BUNDLED_EVENT
from simulator import Simulator
from tests.support.harness import BOT_TOKEN, bundled_event, running_bot

ROOT = Path(__file__).resolve().parents[2]


async def test_staff_group_command_gives_the_id_and_the_missing_rights(sim: Simulator, db: Database) -> None:
    """/groupe_equipe by an organiser in a group not served yet: its id, and what is missing."""
    organiser = sim.add_user(first_name="Nadia", language_code="fr")
    camille = sim.add_user(first_name="Camille", language_code="fr")
    forum = sim.add_group("Équipe", members=[camille], admins=[organiser], is_forum=True, bot_admin=False)
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id])):
        await organiser.send_text("/groupe_equipe", chat=forum)
        answer = await forum.wait_for_message(lambda m: "Identifiant de ce groupe" in m.text)
        assert f"staff_chat_id: {forum.id}" in answer.text
        assert "faites du bot un administrateur" in answer.text

        # A facilitator (not an organiser) is refused politely; nothing about the group is said.
        await camille.send_text("/groupe_equipe", chat=forum)
        refusal = await forum.wait_for_message(lambda m: "réservée à l'équipe d'organisation" in m.text)
        assert str(forum.id) not in refusal.text

        # In a private chat: where to send it.
        await organiser.send_text("/groupe_equipe")
        await organiser.wait_for_message(lambda m: "dans le groupe de l'équipe" in m.text)


async def test_staff_group_command_in_the_configured_forum(sim: Simulator, db: Database) -> None:
    """In the configured group: said so; an admin bot without "manage topics" is told the right to add."""
    organiser = sim.add_user(first_name="Nadia", language_code="en")
    forum = sim.add_group(
        "Staff", admins=[organiser], is_forum=True, bot_admin=True, bot_rights={"can_manage_topics": False}
    )
    plain = sim.add_group("Other", admins=[organiser])
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id], staff_chat_id=forum.id)):
        await organiser.send_text("/staffgroup", chat=forum)
        answer = await forum.wait_for_message(lambda m: "This group is the staff group" in m.text)
        assert "Manage topics" in answer.text

        await organiser.send_text("/staffgroup", chat=plain)
        other = await plain.wait_for_message(lambda m: "This group's id" in m.text)
        assert f"staff_chat_id: {plain.id}" in other.text
        assert "every right it needs" in other.text and str(forum.id) in other.text


def _event_file(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load(BUNDLED_EVENT.read_text(encoding="utf-8"))
    data.update(changes)
    path = tmp_path / "event.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def _check_online(sim: Simulator, event_file: Path, token: str = BOT_TOKEN) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_URL": sim.base_url,
        "EVENT_CONFIG": str(event_file),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check-config",
        "--online",
        str(event_file),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_check_config_online(sim: Simulator, tmp_path: Path) -> None:
    """The token, the bot's rights in the staff group, organisers who started the bot: a line each."""
    nadia = sim.add_user(first_name="Nadia", language_code="fr")
    omar = sim.add_user(first_name="Omar", language_code="fr")
    forum = sim.add_group("Équipe", admins=[nadia], is_forum=True, bot_admin=False)
    await nadia.send_text("/start")  # Nadia opened the bot; Omar never did

    code, out, err = await _check_online(
        sim, _event_file(tmp_path, staff_chat_id=forum.id, organisers=[nadia.id, omar.id])
    )
    problems = [line.strip() for line in err.splitlines() if line.startswith("  ")]
    assert code == 2, (out, err)
    assert len(problems) == 2, err
    assert problems[0].startswith(f"staff_chat_id {forum.id}:") and "administrator" in problems[0]
    assert problems[1].startswith(f"organisers {omar.id}:") and "press Start" in problems[1]
    assert str(nadia.id) not in err

    # Fixed: the bot is an administrator allowed to manage topics, Omar started the bot.
    forum.set_bot_membership("administrator")
    await omar.send_text("/start")
    code, out, err = await _check_online(
        sim, _event_file(tmp_path, staff_chat_id=forum.id, organisers=[nadia.id, omar.id])
    )
    assert code == 0, err
    assert "online: OK" in out

    # No staff group in the file, and a bot missing from a group.
    absent = sim.add_group("Ailleurs", admins=[nadia], bot_member=False)
    code, _, err = await _check_online(
        sim, _event_file(tmp_path, staff_chat_id=absent.id, organisers=[nadia.id])
    )
    assert code == 2 and f"staff_chat_id {absent.id}: the bot cannot see this group" in err
    code, _, err = await _check_online(sim, _event_file(tmp_path, staff_chat_id=None, organisers=[]))
    assert code == 2 and "staff_chat_id: not set" in err and "/staffgroup" in err

    # A token Telegram refuses.
    code, _, err = await _check_online(sim, _event_file(tmp_path), token="999:not-a-known-token")
    assert code == 2 and "token: Telegram refuses it" in err
