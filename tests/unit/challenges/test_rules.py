"""Pure challenge rules: when picking is open, and what makes a team unbalanced."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from models.challenges import (
    BalanceFlag,
    ChallengeCounts,
    PickingOverride,
    PickingReason,
    balance_flags,
    picking_status,
)

OPENS = datetime(2017, 11, 3, 17, 0, tzinfo=UTC)
CLOSES = datetime(2017, 11, 4, 21, 0, tzinfo=UTC)
ROLES = ["resident", "volunteer", "staff", "student", "partner", "other"]


@pytest.mark.parametrize(
    ("at", "override", "is_open", "reason"),
    [
        (OPENS - timedelta(minutes=1), None, False, PickingReason.NOT_YET),
        (OPENS, None, True, PickingReason.WINDOW_OPEN),
        (CLOSES - timedelta(seconds=1), None, True, PickingReason.WINDOW_OPEN),
        (CLOSES, None, False, PickingReason.OVER),
        (OPENS - timedelta(hours=5), PickingOverride.OPEN, True, PickingReason.FORCED_OPEN),
        (CLOSES + timedelta(hours=5), PickingOverride.OPEN, True, PickingReason.FORCED_OPEN),
        (OPENS + timedelta(hours=1), PickingOverride.CLOSED, False, PickingReason.FORCED_CLOSED),
    ],
)
def test_picking_status(
    at: datetime, override: PickingOverride | None, is_open: bool, reason: PickingReason
) -> None:
    """The window applies unless organisers forced picking open or closed."""
    status = picking_status((OPENS, CLOSES), override, at)
    assert (status.is_open, status.reason) == (is_open, reason)
    assert (status.opens_at, status.closes_at) == (OPENS, CLOSES)


@pytest.mark.parametrize(
    ("members", "capacity", "roles", "expected"),
    [
        (0, 12, {}, [BalanceFlag.EMPTY]),
        (3, 12, {"resident": 1, "student": 1, "staff": 1}, []),
        (3, 12, {"volunteer": 2, "staff": 1}, [BalanceFlag.NO_RESIDENT]),
        (4, 12, {"resident": 1, "student": 3}, [BalanceFlag.MOSTLY_STUDENTS]),
        (4, 12, {"resident": 2, "student": 2}, []),  # exactly half is fine
        (5, 4, {"resident": 2, "volunteer": 3}, [BalanceFlag.OVER_CAPACITY]),
        (4, 12, {"resident": 4}, [BalanceFlag.SINGLE_ROLE]),
        (3, 12, {"resident": 3}, []),  # too small to call it unmixed
        (
            4,
            3,
            {"student": 4},
            [
                BalanceFlag.OVER_CAPACITY,
                BalanceFlag.NO_RESIDENT,
                BalanceFlag.MOSTLY_STUDENTS,
                BalanceFlag.SINGLE_ROLE,
            ],
        ),
    ],
)
def test_balance_flags(
    members: int, capacity: int, roles: dict[str, int], expected: list[BalanceFlag]
) -> None:
    """Empty, over capacity, no resident, mostly students, a single role."""
    assert balance_flags(members, capacity, Counter(roles), ROLES) == expected


def test_role_rules_apply_only_to_roles_the_event_offers() -> None:
    """An event without a "resident" role never flags "no resident"."""
    assert balance_flags(2, 10, Counter({"dev": 2}), ["dev", "designer"]) == []


def test_counts_free_and_full() -> None:
    """Free places never go negative, also after a capacity was lowered below the team size."""
    assert ChallengeCounts("a", 7, 12, 12, 0, False).free == 5
    over = ChallengeCounts("a", 9, 6, 12, 2, False)
    assert over.free == 0 and over.is_full
