"""Database models and the domain functions that work on them.

Importing this package imports every model module, so `Base.metadata` is complete for Alembic.
"""

from models import (
    broadcasts,
    challenges,
    dashboard,
    meals,
    outbox,
    participant,
    programme,
    questions,
    rate_history,
)
from models.base import Base

__all__ = [
    "Base",
    "broadcasts",
    "challenges",
    "dashboard",
    "meals",
    "outbox",
    "participant",
    "programme",
    "questions",
    "rate_history",
]
