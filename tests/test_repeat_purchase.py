"""repeat_purchase_rate counts buyers with purchases on at least two distinct (UTC) days, as the
customer-base literature does: several purchases on one day are one purchase occasion."""

from __future__ import annotations

import pytest

from commlab.analysis.metrics import get_metric
from commlab.analysis.naive import naive_metrics
from test_metrics import tables, values

MEMBERS = [("o", "owner", "2024-01-01"), ("a", "member", "2024-01-01"), ("b", "member", "2024-01-01"),
           ("c", "member", "2024-01-01"), ("d", "member", "2024-01-01")]
EVENTS = [
    ("a", "2024-02-10 09:00", "purchase", None, None, 10.0),  # a: twice on one UTC day -> one occasion
    ("a", "2024-02-10 21:00", "purchase", None, None, 10.0),
    ("b", "2024-02-10 23:30", "purchase", None, None, 10.0),  # b: 30 minutes apart, across UTC midnight
    ("b", "2024-02-11 00:00", "purchase", None, None, 10.0),
    ("c", "2024-01-05 12:00", "purchase", None, None, 10.0),  # c: January and February
    ("c", "2024-02-20 12:00", "purchase", None, None, 10.0),
    ("d", "2024-02-25 12:00", "purchase", None, None, 10.0),  # d: once
    ("o", "2024-02-01", "purchase", None, None, 99.0),  # the owner is staff: never a buyer here
    ("o", "2024-02-02", "purchase", None, None, 99.0),
]


def test_repeat_buyers_are_counted_by_distinct_days_by_hand():
    data = tables(MEMBERS, EVENTS)
    # buyers: a, b, c, d; repeat (>= 2 distinct UTC days): b (Feb 10 and 11), c (Jan 5 and Feb 20) -> 2 / 4
    assert values(data, "2024-03-01", ["repeat_purchase_rate"])["repeat_purchase_rate"] == pytest.approx(2 / 4)
    # counting purchase rows instead would give a too: 3 / 4
    oracle = naive_metrics(data["communities"], data["members"], data["events"], as_of="2024-03-01",
                           metrics=["repeat_purchase_rate"], network=False)
    assert oracle["value"].tolist() == pytest.approx([2 / 4]) and oracle["n"].tolist() == [4]  # the pandas oracle


def test_the_registry_states_the_definition():
    m = get_metric("repeat_purchase_rate")
    assert "distinct days" in m.definition and "distinct days" in m.formula
