"""A fact's description is its registered metric's (``Metric.description``), never a copy kept by hand."""

from __future__ import annotations

from dataclasses import fields

from commlab.analysis.metrics import Metric, MetricDescription, list_metrics
from commlab.facts import EXTRA_FACTS, FactInfo, fact_definitions, fact_info
from commlab.rules_text import NAME_OVERRIDES


def test_a_metric_fact_is_the_metric_description_with_the_name_overrides():
    assert FactInfo is MetricDescription and issubclass(Metric, MetricDescription)
    described = [f.name for f in fields(MetricDescription)]
    for m in list_metrics():
        info = fact_info(m.id)
        want = {k: getattr(m, k) for k in described}
        if m.id in NAME_OVERRIDES:
            want["name_zh"], want["name_en"] = NAME_OVERRIDES[m.id]
        assert {k: getattr(info, k) for k in described} == want, m.id
        assert type(info) is MetricDescription  # no SQL or compute function travels with a fact


def test_every_metric_and_extra_fact_is_listed_once():
    ids = fact_definitions()["id"].tolist()
    assert sorted(ids) == sorted([m.id for m in list_metrics()] + list(EXTRA_FACTS))
    assert fact_info("no_such_fact") is None
