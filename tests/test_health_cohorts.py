"""The cohort retention figure of notebook 03 (:meth:`commlab.display_health.CommunityHealth.show_cohort_retention`).

It draws the join cohorts of the largest community only; their retention is computed for that community only
(at 50 M events, 5.1 s for every community against 0.8 s), and the note under the figure counts the cohorts
hidden in it, not those of communities it does not draw.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import commlab.display_health as dh
from commlab import plots
from commlab.analysis.retention import cohort_retention
from commlab.data import load_dataset
from commlab.privacy.suppression import suppress_table, suppression_note

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
AS_OF = "2024-06-30T16:00:00Z"


def test_the_cohorts_of_the_largest_community_only_are_computed_and_counted(monkeypatch):
    plots.setup_fonts()  # as notebook 03 does: the figure's title is a Chinese community name
    ds = load_dataset(SAMPLES)
    k = 30  # large enough that some of the largest community's cohorts, and others', are hidden
    health = dh.community_health(ds, as_of=AS_OF, k=k, lang="en")
    largest = health.sizes.idxmax()
    asked, shown = [], []
    real = dh.cohort_retention

    def spy(data, **kw):
        asked.append(sorted(data.communities["community_id"]))
        return real(data, **kw)

    monkeypatch.setattr(dh, "cohort_retention", spy)
    monkeypatch.setattr(dh, "_show", lambda *objects: shown.extend(objects))
    health.show_cohort_retention()
    assert asked == [[largest]]
    every = cohort_retention(ds, as_of=AS_OF, freq="month")
    _, hidden_there = suppress_table(every[every["community_id"] == largest].reset_index(drop=True), k,
                                     numeric=True, **dh.COHORT_PRIVACY)
    _, hidden_everywhere = suppress_table(every, k, numeric=True, **dh.COHORT_PRIVACY)
    assert 0 < hidden_there < hidden_everywhere  # the fixture tells the two counts apart
    notes = [o.data for o in shown if hasattr(o, "data") and isinstance(o.data, str)]
    assert suppression_note(hidden_there, k, "en") in notes
    assert suppression_note(hidden_everywhere, k, "en") not in notes
    # the figure's cohorts are those of the whole computation, row for row
    mine = real(ds.subset([largest]), as_of=pd.Timestamp(AS_OF), freq="month")
    pd.testing.assert_frame_equal(mine, every[every["community_id"] == largest].reset_index(drop=True))
