"""Telegram-facing handlers. `register` adds them to the application in one explicit order.

Order matters in PTB: inside a group the first matching handler wins, and groups run in order.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, TypeHandler

from bot.context import HackbotApplication
from handlers import (
    broadcasts,
    challenges,
    common,
    dashboard,
    input,
    meals,
    menu,
    profile,
    programme,
    questions,
    registration,
)

# Group numbers: cross-cutting checks first, then the features.
# A TypeHandler(Update) matches everything and PTB runs one handler per group, so each
# cross-cutting check needs its own group.
GROUP_DEDUPLICATE = -3
GROUP_CHAT_FILTER = -2
GROUP_CONSENT = -1
GROUP_FEATURES = 0


def register(application: HackbotApplication) -> None:
    """Wire every handler; features add themselves between the built-ins and the fallbacks."""
    catalog = application.bot_data.services.catalog
    application.add_handler(TypeHandler(Update, common.drop_duplicate_updates), group=GROUP_DEDUPLICATE)
    application.add_handler(TypeHandler(Update, common.ignore_foreign_chats), group=GROUP_CHAT_FILTER)
    application.add_handler(TypeHandler(Update, registration.require_current_consent), group=GROUP_CONSENT)

    feature_handlers = [
        *registration.handlers(),
        *profile.handlers(),
        *menu.help_handlers(catalog),
        *programme.handlers(catalog),
        *meals.handlers(catalog),
        *challenges.handlers(catalog),
        *dashboard.handlers(),
        *questions.handlers(catalog),
        *broadcasts.handlers(),
    ]
    application.add_handlers(feature_handlers, group=GROUP_FEATURES)

    # Fallbacks, tried only when no feature handler matched: menu buttons of features not built
    # yet, free text routed by what we wait for, and buttons nobody understands.
    application.add_handlers(
        [
            *menu.placeholder_handlers(catalog),
            # Free messages: an organiser's announcement draft first, then a reply to a question's
            # message, then what we wait for from the person, then the menu.
            *input.handlers(
                claims=[broadcasts.take_draft_input, questions.take_reply_to_ticket],
                fallback=registration.answer_unrouted,
            ),
            CallbackQueryHandler(common.refuse_stale_button),
        ],
        group=GROUP_FEATURES,
    )
    application.add_error_handler(common.on_error)
