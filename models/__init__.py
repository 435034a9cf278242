"""Database models and the domain functions that work on them.

Importing this package imports every model module, so `Base.metadata` is complete for Alembic.
"""

from models import (
    arrival,
    broadcasts,
    challenges,
    dashboard,
    meals,
    outbox,
    participant,
    pending_questions,
    profile,
    programme,
    questions,
    rate_history,
    reachability,
    report,
    results,
    retention,
    survey,
)
from models.base import Base

__all__ = [
    "Base",
    "arrival",
    "broadcasts",
    "challenges",
    "dashboard",
    "meals",
    "outbox",
    "participant",
    "pending_questions",
    "profile",
    "programme",
    "questions",
    "rate_history",
    "reachability",
    "report",
    "results",
    "retention",
    "survey",
]
