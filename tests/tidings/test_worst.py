"""The one ordering of impacts (tidings.ops.status.worst), which every caller ranks by."""

from __future__ import annotations

from itertools import permutations

import pytest

from tidings.content.model import IMPACTS
from tidings.ops.status import worst


def test_the_worst_impact_whatever_the_order_given():
    best_first = [
        "operational",
        "under_maintenance",
        "degraded_performance",
        "partial_outage",
        "major_outage",
    ]
    assert list(IMPACTS) == best_first
    for n, impact in enumerate(best_first):
        for order in permutations(best_first[: n + 1]):
            assert worst(order) == impact, order
    # Maintenance outranks nothing but an operational component.
    assert worst(["under_maintenance", "operational"]) == "under_maintenance"
    assert worst(["degraded_performance", "under_maintenance"]) == "degraded_performance"


def test_any_iterable_and_none_at_all():
    assert worst([]) == "operational"  # a component with nothing on it
    assert worst({"partial_outage", "degraded_performance"}) == "partial_outage"
    assert worst({"api": "major_outage", "web": "degraded_performance"}.values()) == "major_outage"
    assert worst(iter(["partial_outage", "partial_outage"])) == "partial_outage"


def test_an_impact_outside_the_vocabulary_is_an_error_not_a_guess():
    with pytest.raises(ValueError):
        worst(["operational", "down"])
