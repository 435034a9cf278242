"""Telegram-facing handlers. `register` adds them to the application in one explicit order.

Order matters in PTB: inside a group the first matching handler wins, and groups run in order.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, TypeHandler

from bot.context import HackbotApplication
from handlers import (
    arrival,
    broadcasts,
    challenges,
    common,
    dashboard,
    faq,
    free_text,
    input,
    meals,
    membership,
    menu,
    profile,
    profile_questions,
    programme,
    questions,
    registration,
    results,
    setup,
    survey,
)

# Group numbers: cross-cutting checks first, then the features.
# A TypeHandler(Update) matches everything and PTB runs one handler per group, so each
# cross-cutting check needs its own group.
GROUP_DEDUPLICATE = -3
GROUP_CHAT_FILTER = -2
GROUP_CONSENT = -1
GROUP_FEATURES = 0
# Steps that follow a feature's handler for the same update (e.g. a check-in once registered).
GROUP_FOLLOWERS = 1


def register(application: HackbotApplication) -> None:
    """Wire every handler; features add themselves between the built-ins and the fallbacks."""
    catalog = application.bot_data.services.catalog
    application.add_handler(TypeHandler(Update, common.drop_duplicate_updates), group=GROUP_DEDUPLICATE)
    application.add_handler(TypeHandler(Update, common.ignore_foreign_chats), group=GROUP_CHAT_FILTER)
    # Blocking or unblocking the bot: recorded, and stopped before the consent check (which would
    # write to someone who just blocked the bot). Within a group the first matching handler wins.
    application.add_handlers(membership.handlers(), group=GROUP_CONSENT)
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
        *faq.handlers(),
        *free_text.handlers(),
        *setup.handlers(),
        *broadcasts.handlers(),
        *arrival.handlers(catalog),
        *survey.handlers(),
        *profile_questions.handlers(),
        *results.handlers(),
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
                claims=[broadcasts.take_draft_input, questions.take_reply_to_ticket, results.take_input],
                fallback=registration.answer_unrouted,
            ),
            CallbackQueryHandler(common.refuse_stale_button),
        ],
        group=GROUP_FEATURES,
    )
    # A newcomer who scanned the entrance poster is checked in once registration's role is saved.
    application.add_handler(arrival.follow_registration(), group=GROUP_FOLLOWERS)
    application.add_error_handler(common.on_error)
