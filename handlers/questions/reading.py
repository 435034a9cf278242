"""What the question handlers read from Telegram: a message's content, staff membership, real replies.

Messages become plain `Content` here, so the domain (`models.question_flows`) never sees a
Telegram object.
"""

from __future__ import annotations

import logging
import time

from telegram import ChatMember, Message, Update
from telegram.error import TelegramError

from bot.context import HackbotContext
from models.questions import Content, ContentKind
from schedule.questions import MEMBER_STATUSES, runtime

log = logging.getLogger(__name__)

MEMBER_CACHE_SECONDS = 60.0


def content_of(message: Message, *, text_override: str | None = None) -> Content | None:
    """What a message carries, if it is a kind we relay (None for stickers, polls, contacts...)."""
    kind: ContentKind | None = None
    body: str | None = message.caption
    if message.text is not None:
        kind, body = ContentKind.TEXT, message.text
    elif message.photo:
        kind = ContentKind.PHOTO
    elif message.voice is not None:
        kind = ContentKind.VOICE
    elif message.animation is not None:  # before `document`: animations carry both
        kind = ContentKind.ANIMATION
    elif message.document is not None:
        kind = ContentKind.DOCUMENT
    elif message.video is not None:
        kind = ContentKind.VIDEO
    elif message.audio is not None:
        kind = ContentKind.AUDIO
    elif message.video_note is not None:
        kind = ContentKind.VIDEO_NOTE
    elif message.location is not None:
        kind = ContentKind.LOCATION
    if kind is None:
        return None
    if text_override is not None:
        body = text_override
    return Content(kind=kind, text=body, chat_id=message.chat_id, message_id=message.message_id)


def body_html(message: Message) -> str | None:
    """The text or caption as Telegram HTML, keeping the author's formatting (escaped by PTB)."""
    if message.text is not None:
        return message.text_html
    if message.caption is not None:
        return message.caption_html
    return None


def in_staff_chat(update: Update, context: HackbotContext) -> bool:
    """Whether the update comes from the configured staff group."""
    chat = update.effective_chat
    staff = context.services.event.staff_chat_id
    return chat is not None and staff is not None and chat.id == staff


def is_topic_root_reply(message: Message) -> bool:
    """In a forum, a plain message "replies" to its topic's first message: not a real reply."""
    reply = message.reply_to_message
    if reply is None:
        return True
    if reply.forum_topic_created is not None:
        return True
    return bool(message.is_topic_message and reply.message_id == message.message_thread_id)


def sent_by_the_bot(message: Message, context: HackbotContext) -> bool:
    """Whether `message` is one of the bot's own."""
    return message.from_user is not None and message.from_user.id == context.bot.id


async def is_staff(context: HackbotContext, user_id: int) -> bool:
    """Whether the user is a member of the staff group (getChatMember, cached for a minute)."""
    services = context.services
    chat_id = services.event.staff_chat_id
    if chat_id is None:
        return False
    state = runtime(services)
    cached = state.member_cache.get(user_id)
    now = time.monotonic()
    if cached is not None and cached[1] > now:
        return cached[0]
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError as exc:
        log.info("questions: membership of user %d unknown (%s)", user_id, exc.message)
        return False
    allowed = member.status in MEMBER_STATUSES or (
        member.status == ChatMember.RESTRICTED and bool(getattr(member, "is_member", False))
    )
    state.member_cache[user_id] = (allowed, now + MEMBER_CACHE_SECONDS)
    return allowed
