"""`hackbot check-config --online`: what the event file cannot tell, asked of Telegram itself.

The token (getMe), the staff group (the bot is in it, with the rights a forum needs: getChat,
getChatMember), and the organisers (each has started a chat with the bot, otherwise getChat on
their id fails and the bot could never write to them). Each problem is one line that says what to
do. Read-only: nothing is sent, and it does not conflict with a running bot (no getUpdates).
"""

from __future__ import annotations

from telegram import Bot, ChatMemberAdministrator, ChatMemberOwner
from telegram.error import InvalidToken, TelegramError

from bot.settings import Settings
from schedule.config import EventConfig

_ABSENT = ("left", "kicked")


async def check_online(settings: Settings, event: EventConfig) -> tuple[str | None, list[str]]:
    """The bot's @username (None if the token is refused) and the problems found, one line each."""
    bot = Bot(
        settings.bot_token(), base_url=settings.bot_api_base_url, base_file_url=settings.bot_file_base_url
    )
    try:
        await bot.initialize()  # getMe
    except (InvalidToken, TelegramError) as exc:
        return None, [f"token: Telegram refuses it ({_reason(exc)}): copy the token again from @BotFather"]
    try:
        problems = await _staff_group_problems(bot, event)
        problems += await _organiser_problems(bot, event)
    finally:
        await bot.shutdown()
    return bot.username, problems


def _reason(exc: Exception) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


async def _staff_group_problems(bot: Bot, event: EventConfig) -> list[str]:
    chat_id = event.staff_chat_id
    if chat_id is None:
        return [
            "staff_chat_id: not set; questions reach nobody: add the bot to the staff group, send "
            "/staffgroup there and copy the id it answers into the event file"
        ]
    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, bot.id)
    except TelegramError as exc:
        return [
            f"staff_chat_id {chat_id}: the bot cannot see this group ({_reason(exc)}): add the bot to "
            "the staff group, or send /staffgroup in it to get the right id"
        ]
    if member.status in _ABSENT:
        return [f"staff_chat_id {chat_id}: the bot is not a member of this group: add it to the group"]
    if not chat.is_forum:
        return []
    if not isinstance(member, ChatMemberAdministrator | ChatMemberOwner):
        return [
            f"staff_chat_id {chat_id}: the group has topics but the bot is not an administrator: make it "
            "an administrator with the right to manage topics"
        ]
    if isinstance(member, ChatMemberAdministrator) and not member.can_manage_topics:
        return [
            f'staff_chat_id {chat_id}: the bot may not manage topics: give it the "Manage topics" right '
            "(questions would all land in the General topic)"
        ]
    return []


async def _organiser_problems(bot: Bot, event: EventConfig) -> list[str]:
    problems = []
    for organiser in event.organisers:
        try:
            await bot.get_chat(organiser)
        except TelegramError as exc:
            problems.append(
                f"organisers {organiser}: this person has not started a chat with the bot ({_reason(exc)}): "
                f"they must open https://t.me/{bot.username} and press Start"
            )
    return problems
