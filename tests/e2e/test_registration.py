"""Registration, profile and privacy commands, driven through the simulator like a phone would."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models.base import utcnow
from models.db import Database
from models.participant import Participant, ParticipantStatus
from simulator import Simulator
from tests.support.harness import bundled_event, running_bot

EVENT_NAME_FR = "Centres Sociaux Connectés"


async def participant_row(db: Database, telegram_id: int) -> Participant | None:
    async with db.read() as session:
        return await session.scalar(select(Participant).where(Participant.telegram_id == telegram_id))


async def participant_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Participant)) or 0)


async def register(user, *, agree: str, keep: str | None = None, name: str | None = None, role: str) -> None:
    """Walk through registration with buttons (typing a name only when `name` is given)."""
    await user.send_text("/start")
    await user.wait_for_message(lambda m: any(agree == b.text for row in m.buttons for b in row))
    await user.press(agree)
    ask_name = await user.wait_for_message(lambda m: bool(m.buttons) or "?" in m.text)
    if name is None:
        assert keep is not None
        await user.press(keep, message=ask_name)
    else:
        await user.send_text(name)
    await user.wait_for_message(lambda m: any(role == b.text for row in m.buttons for b in row))
    await user.press(role)


async def test_register_in_french_then_mydata_and_forget(sim: Simulator, db: Database) -> None:
    """Register in French with buttons only; consent is stored; /mydata shows it; /forget erases it."""
    event = bundled_event()
    user = sim.add_user(first_name="Amina", language_code="fr")
    async with running_bot(sim, db, event):
        before = utcnow()
        await user.send_text("/start")
        welcome = await user.wait_for_message(lambda m: EVENT_NAME_FR in m.text)
        assert "Combien de temps" in welcome.text  # the short notice: what, why, how long
        labels = [b.text for row in welcome.buttons for b in row]
        assert "✅ J'accepte" in labels and "Non merci" in labels
        assert await participant_row(db, user.id) is None  # nothing stored before consent

        await user.press("✅ J'accepte")
        ask_name = await user.wait_for_message(
            lambda m: "Garder « Amina »" in [b.text for r in m.buttons for b in r]
        )
        await user.press("Garder « Amina »", message=ask_name)
        await user.wait_for_message(lambda m: "Habitant" in " ".join(b.text for r in m.buttons for b in r))
        role_label = next(b.text for r in user.messages[-1].buttons for b in r if "Habitant" in b.text)
        await user.press(role_label)
        done = await user.wait_for_message(lambda m: "inscrit" in m.text)
        assert "Amina" in done.text
        assert user.keyboard is not None and any(
            "Programme" in label for row in user.keyboard for label in row
        )

        row = await participant_row(db, user.id)
        assert row is not None
        assert row.status is ParticipantStatus.ACTIVE
        assert row.display_name == "Amina" and row.language == "fr" and row.role == "resident"
        assert row.consent_version == event.privacy.version
        assert before - timedelta(seconds=1) <= row.consent_given_at <= utcnow()
        assert row.registered_at is not None

        await user.send_text("/mydata")
        mydata = await user.wait_for_message(lambda m: "Ce que je garde" in m.text)
        assert "Amina" in mydata.text and event.privacy.version in mydata.text and str(user.id) in mydata.text

        await user.send_text("/forget")
        await user.wait_for_message(lambda m: "Effacer" in m.text)
        await user.press("🗑 Oui, tout effacer")
        await user.wait_for_edit(lambda m: "tout est effacé" in m.text)
        assert await participant_row(db, user.id) is None


async def test_register_in_english_with_a_typed_name(sim: Simulator, db: Database) -> None:
    """An English speaker types another name; everything is in English."""
    user = sim.add_user(first_name="John", language_code="en-GB")
    async with running_bot(sim, db, bundled_event()):
        await register(user, agree="✅ I agree", name="Johnny", role="Student")
        done = await user.wait_for_message(lambda m: "registered" in m.text)
        assert "Johnny" in done.text
        row = await participant_row(db, user.id)
        assert (
            row is not None
            and row.language == "en"
            and row.display_name == "Johnny"
            and row.role == "student"
        )


async def test_declining_stores_nothing(sim: Simulator, db: Database) -> None:
    """ "No thanks" leaves no trace in the database."""
    user = sim.add_user(first_name="Zoé", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await user.send_text("/start")
        await user.wait_for_message(lambda m: EVENT_NAME_FR in m.text)
        await user.press("Non merci")
        await user.wait_for_edit(lambda m: "rien enregistré" in m.text)
        assert await participant_count(db) == 0


async def test_language_can_be_switched_before_consent(sim: Simulator, db: Database) -> None:
    """A French Telegram user can switch the notice to English and registers in English."""
    user = sim.add_user(first_name="Sam", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await user.send_text("/start")
        await user.wait_for_message(lambda m: EVENT_NAME_FR in m.text)
        await user.press("🇬🇧 English")
        await user.wait_for_edit(lambda m: "I agree" in " ".join(b.text for r in m.buttons for b in r))
        await user.press("✅ I agree")
        await user.wait_for_message(lambda m: "What should we call you" in m.text)
        row = await participant_row(db, user.id)
        assert row is not None and row.language == "en"


async def test_html_and_very_long_names_are_escaped_and_capped(sim: Simulator, db: Database) -> None:
    """A name full of HTML specials, 5,000 characters long, is stored capped and sent escaped."""
    user = sim.add_user(first_name="<b>&Bob", language_code="fr")
    hostile = "<script>alert('x') & </b>" + "é" * 5000
    async with running_bot(sim, db, bundled_event()):
        await user.send_text("/start")
        await user.wait_for_message(lambda m: EVENT_NAME_FR in m.text)
        await user.press("✅ J'accepte")
        ask_name = await user.wait_for_message(
            lambda m: "Garder" in " ".join(b.text for r in m.buttons for b in r)
        )
        assert "Garder « <b>&Bob »" in [b.text for r in ask_name.buttons for b in r]
        await user.send_text(hostile)
        saved = await user.wait_for_message(lambda m: "C'est noté" in m.text)
        assert "<script>alert('x') &" in saved.text  # shown literally, not as markup
        row = await participant_row(db, user.id)
        assert row is not None and len(row.display_name) == 64 and row.display_name.startswith("<script>")


async def test_media_during_registration_gets_a_gentle_reprompt(sim: Simulator, db: Database) -> None:
    """Stickers, photos and voice notes while we wait for a name are answered, not crashed on."""
    user = sim.add_user(first_name="Lina", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await user.send_text("/start")
        await user.wait_for_message(lambda m: EVENT_NAME_FR in m.text)
        await user.press("✅ J'accepte")
        await user.wait_for_message(lambda m: "Comment voulez-vous" in m.text)
        for send in (user.send_sticker, user.send_photo, user.send_voice):
            await send()
            await user.wait_for_message(lambda m: "J'attends votre prénom" in m.text)
        row = await participant_row(db, user.id)
        assert row is not None and row.status is ParticipantStatus.REGISTERING


async def test_forged_and_stale_buttons_are_refused_politely(sim: Simulator, db: Database) -> None:
    """Forged callback data gets a short answer; nothing changes; no error reaches the user."""
    user = sim.add_user(first_name="Eve", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await register(user, agree="✅ J'accepte", keep="Garder « Eve »", role="Étudiant·e")
        await user.wait_for_message(lambda m: "inscrit" in m.text)
        last = user.messages[-1]
        for forged in (
            "reg:role:astronaut",
            "reg:agree:xx",
            "nonsense",
            "reg:keepname",
            "prof:setlang:de",
            "x" * 64,
        ):
            answer = await user.press(callback_data=forged, message=last)
            assert answer is not None and "plus valable" in (answer.text or "")
        row = await participant_row(db, user.id)
        assert row is not None and row.role == "student"
        assert not any("Oups" in m.text for m in user.messages)


async def test_duplicate_update_is_handled_once(sim: Simulator, db: Database) -> None:
    """The same update delivered twice produces one answer."""
    user = sim.add_user(first_name="Tom", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        sent = await user.send_text("/start")
        await user.wait_for_message(lambda m: EVENT_NAME_FR in m.text)
        sim.redeliver(sent.update_id)
        await user.send_text("/help")
        await user.wait_for_message(lambda m: "Aide" in m.text)
        assert sum(EVENT_NAME_FR in m.text for m in user.messages) == 1


async def test_start_repeatedly_mid_flow_resumes(sim: Simulator, db: Database) -> None:
    """/start pressed again during registration asks the open question again, one row only."""
    user = sim.add_user(first_name="Nour", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await user.send_text("/start")
        await user.wait_for_message(lambda m: EVENT_NAME_FR in m.text)
        await user.press("✅ J'accepte")
        await user.wait_for_message(lambda m: "Comment voulez-vous" in m.text)
        for _ in range(3):
            await user.send_text("/start")
            await user.wait_for_message(lambda m: "Comment voulez-vous" in m.text)
        assert await participant_count(db) == 1


async def test_registration_survives_a_restart(sim: Simulator, test_database) -> None:
    """The open question is kept in the database: a restarted bot continues where it stopped."""
    user = sim.add_user(first_name="Ali", language_code="fr")
    first = test_database.connect()
    async with running_bot(sim, first, bundled_event()):
        await user.send_text("/start")
        await user.wait_for_message(lambda m: EVENT_NAME_FR in m.text)
        await user.press("✅ J'accepte")
        await user.wait_for_message(lambda m: "Comment voulez-vous" in m.text)
    await first.dispose()
    second = test_database.connect()
    try:
        async with running_bot(sim, second, bundled_event()):
            await user.send_text("Ali B.")
            await user.wait_for_message(lambda m: "Vous venez en tant que" in m.text)
            row = await participant_row(second, user.id)
            assert row is not None and row.display_name == "Ali B."
    finally:
        await second.dispose()


async def test_messages_from_unserved_groups_are_ignored(sim: Simulator, db: Database) -> None:
    """A group that is not the staff group gets no answer, whatever is said there."""
    user = sim.add_user(first_name="Max", language_code="fr")
    group = sim.add_group(title="Random group", members=[user])
    async with running_bot(sim, db, bundled_event()):
        await user.send_text("/start", chat=group)
        await user.send_text("hello", chat=group)
        await user.send_text("/help")  # a private message after, to know the bot processed the rest
        await user.wait_for_message(lambda m: "Aide" in m.text)
        assert group.messages_from_bot() == []


async def test_profile_changes_name_role_and_language(sim: Simulator, db: Database) -> None:
    """/profile changes the name (typed), the role and the language (buttons)."""
    user = sim.add_user(first_name="Léa", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await register(user, agree="✅ J'accepte", keep="Garder « Léa »", role="Bénévole")
        await user.wait_for_message(lambda m: "inscrit" in m.text)
        await user.send_text("/profile")
        await user.wait_for_message(lambda m: "Votre profil" in m.text)
        await user.press("✏️ Changer de prénom")
        await user.wait_for_message(lambda m: "nouveau prénom" in m.text)
        await user.send_text("Léa M.")
        await user.wait_for_message(lambda m: "Léa M." in m.text)
        await user.press("🧑‍🤝‍🧑 Changer de rôle")
        await user.wait_for_message(lambda m: "Vous venez en tant que" in m.text)
        await user.press("Partenaire")
        await user.wait_for_edit(lambda m: "Rôle enregistré" in m.text)
        await user.press("🌐 Changer de langue")
        await user.wait_for_message(lambda m: "Choisissez votre langue" in m.text)
        await user.press("English")
        await user.wait_for_message(lambda m: "speak English" in m.text)
        assert user.keyboard is not None and any(
            "My challenge" in label for row in user.keyboard for label in row
        )
        row = await participant_row(db, user.id)
        assert row is not None
        assert (row.display_name, row.role, row.language) == ("Léa M.", "partner", "en")


@pytest.mark.parametrize("command", ["/mydata", "/forget", "/profile"])
async def test_privacy_commands_work_for_strangers(sim: Simulator, db: Database, command: str) -> None:
    """/mydata, /forget and /profile answer someone who never registered."""
    user = sim.add_user(first_name="Nobody", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await user.send_text(command)
        reply = await user.wait_for_message(lambda m: bool(m.text))
        assert "rien" in reply.text or "/start" in reply.text


async def test_a_new_privacy_notice_is_accepted_again(sim: Simulator, db: Database) -> None:
    """When the notice version changes, a registered person must agree again before going on."""
    user = sim.add_user(first_name="Inès", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await register(user, agree="✅ J'accepte", keep="Garder « Inès »", role="Habitant·e")
        await user.wait_for_message(lambda m: "inscrit" in m.text)
    old = bundled_event()
    new_event = old.model_copy(update={"privacy": old.privacy.model_copy(update={"version": "2026-11-30"})})
    async with running_bot(sim, db, new_event):
        await user.send_text("/help")
        notice = await user.wait_for_message(lambda m: "Vos données" in m.text)
        assert "✅ J'accepte" in notice.button_texts
        await user.press("✅ J'accepte", message=notice)
        await user.send_text("/help")
        await user.wait_for_message(lambda m: "Aide" in m.text)
    row = await participant_row(db, user.id)
    assert row is not None and row.consent_version == "2026-11-30" and row.status is ParticipantStatus.ACTIVE


async def test_first_screen_is_a_short_welcome_with_read_more(sim: Simulator, db: Database) -> None:
    """A welcome and three plain lines (what, why, how long); "Lire plus" shows the whole notice;
    consent is still explicit and recorded with its time and version."""
    event = bundled_event()
    user = sim.add_user(first_name="Amina", language_code="fr")
    async with running_bot(sim, db, event):
        await user.send_text("/start")
        welcome = await user.wait_for_message(lambda m: EVENT_NAME_FR in m.text)
        assert "Je suis l'assistant de Hackathon Centres Sociaux Connectés" in welcome.text
        assert "hackathon Hackathon" not in welcome.text
        notice = welcome.text.split("Vos données", 1)[1].strip().splitlines()
        assert [line.split(" :")[0] for line in notice] == ["Quoi", "Pourquoi", "Combien de temps"]
        assert len(welcome.text.splitlines()) <= 7
        assert welcome.button_texts == ["✅ J'accepte", "Non merci", "📄 Lire plus", "🇬🇧 English"]
        assert await participant_row(db, user.id) is None

        await user.press("📄 Lire plus", message=welcome)
        full = await user.wait_for_edit(welcome, lambda m: "Qui les voit" in m.text)
        assert "/mesdonnees" in full.text and "/oublier" in full.text and "/forget" not in full.text
        assert "📄 Lire plus" not in full.button_texts and "✅ J'accepte" in full.button_texts
        assert await participant_row(db, user.id) is None  # reading is not agreeing

        await user.press("✅ J'accepte", message=full)
        ask_name = await user.wait_for_message(lambda m: "Garder « Amina »" in m.button_texts)
        row = await participant_row(db, user.id)
        assert row is not None and row.consent_version == event.privacy.version
        await user.press("Garder « Amina »", message=ask_name)
        saved = await user.wait_for_edit(ask_name, lambda m: "Amina" in m.text)
        assert "Enchanté" not in saved.text and "Merci, Amina" in saved.text

    english = sim.add_user(first_name="John", language_code="en")
    async with running_bot(sim, db, event):
        await english.send_text("/start")
        welcome = await english.wait_for_message(lambda m: "Your data" in m.text)
        assert "How long" in welcome.text and "📄 Read more" in welcome.button_texts


async def test_french_commands_and_french_help(sim: Simulator, db: Database) -> None:
    """/profil, /mesdonnees, /oublier for French speakers; the English names keep working; the help
    lists the names of the reader's language."""
    user = sim.add_user(first_name="Léa", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await register(user, agree="✅ J'accepte", keep="Garder « Léa »", role="Bénévole")
        await user.wait_for_message(lambda m: "inscrit" in m.text)
        await user.send_text("/aide")
        help_text = (await user.wait_for_message(lambda m: "Aide" in m.text)).text
        for french in ("/profil ", "/mesdonnees", "/oublier", "/faq"):
            assert french in help_text
        for english in ("/profile", "/mydata", "/forget"):
            assert english not in help_text
        await user.send_text("/profil")
        await user.wait_for_message(lambda m: "Votre profil" in m.text)
        await user.send_text("/profile")
        await user.wait_for_message(lambda m: "Votre profil" in m.text)
        await user.send_text("/mesdonnees")
        mydata = await user.wait_for_message(lambda m: "Ce que je garde" in m.text)
        assert "/oublier" in mydata.text
        await user.send_text("/oublier")
        await user.wait_for_message(lambda m: "Effacer" in m.text)
        await user.press("Non, garder")
        await user.send_text("/mydata")
        await user.wait_for_message(lambda m: "Ce que je garde" in m.text)

    john = sim.add_user(first_name="John", language_code="en")
    async with running_bot(sim, db, bundled_event()):
        await register(john, agree="✅ I agree", keep="Keep “John”", role="Student")
        await john.wait_for_message(lambda m: "registered" in m.text)
        await john.send_text("/help")
        help_text = (await john.wait_for_message(lambda m: "Help" in m.text)).text
        assert "/profile" in help_text and "/mydata" in help_text and "/oublier" not in help_text


async def test_command_menus_per_language_and_scope(sim: Simulator, db: Database) -> None:
    """setMyCommands: participants (default scope) in each language, organisers their own on top,
    the staff group /questions."""
    organiser = sim.add_user(first_name="Nadia", language_code="fr")
    staff = sim.add_group("Équipe", admins=[organiser])
    async with running_bot(sim, db, bundled_event(organisers=[organiser.id], staff_chat_id=staff.id)):
        menus = {key: [c["command"] for c in listed] for key, listed in sim.bot.commands.items()}
    french, english = menus[("default", "")], menus[("default", "en")]
    assert french[:3] == ["start", "aide", "profil"]
    assert {"mesdonnees", "oublier", "faq", "programme"} <= set(french)
    assert not {"profile", "mydata", "forget", "annonce", "questions"} & set(french)
    assert {"help", "profile", "mydata", "forget", "reminders"} <= set(english)
    organiser_menu = menus[(f"chat:{organiser.id}", "")]
    assert set(french) < set(organiser_menu) and {"annonce", "groupe_equipe", "tableau_de_bord"} <= set(
        organiser_menu
    )
    assert {"announce", "dashboard"} <= set(menus[(f"chat:{organiser.id}", "en")])
    staff_menu = menus[(f"chat:{staff.id}", "")]
    assert "questions" in staff_menu and "profil" not in staff_menu
    descriptions = {c["command"]: c["description"] for c in sim.bot.commands[("default", "")]}
    assert descriptions["oublier"] == "Effacer mes données"


async def test_a_new_notice_lets_the_french_privacy_commands_through(sim: Simulator, db: Database) -> None:
    """Before agreeing to a new notice, /mesdonnees and /oublier still answer (like /mydata, /forget)."""
    user = sim.add_user(first_name="Inès", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await register(user, agree="✅ J'accepte", keep="Garder « Inès »", role="Habitant·e")
        await user.wait_for_message(lambda m: "inscrit" in m.text)
    old = bundled_event()
    new_event = old.model_copy(update={"privacy": old.privacy.model_copy(update={"version": "2026-11-30"})})
    async with running_bot(sim, db, new_event):
        await user.send_text("/mesdonnees")
        await user.wait_for_message(lambda m: "Ce que je garde" in m.text)
        await user.send_text("/oublier")
        await user.wait_for_message(lambda m: "Effacer toutes vos données" in m.text)


async def test_next_day_and_team_calendar_buttons_are_clear(sim: Simulator, db: Database) -> None:
    """The programme's day buttons name the whole weekday with an arrow; the team calendar says what it is."""
    user = sim.add_user(first_name="Sami", language_code="fr")
    async with running_bot(sim, db, bundled_event()):
        await register(user, agree="✅ J'accepte", keep="Garder « Sami »", role="Habitant·e")
        await user.wait_for_message(lambda m: "inscrit" in m.text)
        await user.send_text("/programme")
        shown = await user.wait_for_message(lambda m: "Programme" in m.text and bool(m.buttons))
        days = [
            b.text for row in shown.buttons for b in row if (b.callback_data or "").startswith("prog:day")
        ]
        assert days and all(
            re.fullmatch(r"(Lundi|Mardi|Mercredi|Jeudi|Vendredi|Samedi|Dimanche) \d{1,2} ›", d) for d in days
        )
