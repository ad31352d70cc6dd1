"""One atomic JSON writer: commlab.outputs.write_json is commlab.atomic.atomic_write_json over JSON-safe values."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from commlab import atomic, outputs


def test_summary_json_goes_through_the_one_atomic_writer(tmp_path, monkeypatch):
    calls = []
    real = atomic.atomic_write_bytes
    monkeypatch.setattr(atomic, "atomic_write_bytes", lambda p, data: calls.append(p) or real(p, data))
    data = {"n": np.int64(3), "x": math.nan, "when": pd.Timestamp("2024-06-30"), "名称": "读书会",
            "t": pd.DataFrame({"a": [1.5, np.nan]})}
    path = outputs.write_summary(tmp_path / "step", data)
    assert calls == [path]
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and "读书会" in text
    assert json.loads(text) == {"n": 3, "x": None, "when": "2024-06-30T00:00:00", "名称": "读书会",
                                "t": [{"a": 1.5}, {"a": None}]}
    assert path.read_bytes() == atomic.atomic_write_json(tmp_path / "b.json", json.loads(text)).read_bytes()


def test_a_value_json_cannot_hold_leaves_no_file(tmp_path):
    with pytest.raises(TypeError):
        outputs.write_json(tmp_path / "s.json", {"bad": object()})
    assert list(tmp_path.iterdir()) == []
