"""The import checks as set-based SQL (commlab.data.checks_sql): same events, same problem report."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd
import pytest

from commlab.data import load_dataset, streamed
from commlab.data.checks_sql import eligible
from commlab.data.stored import StoredEvents
from commlab.errors import DataValidationError


def _folder(samples_dir: Path, out: Path) -> tuple[Path, pd.DataFrame]:
    """The samples with their events as a Parquet file of canonical types, as the importers write them."""
    out.mkdir()
    for name in ("communities", "members"):
        shutil.copy(samples_dir / f"{name}.csv", out)
    ev = load_dataset(samples_dir, cache="").events.sample(frac=1.0, random_state=7)  # out of order
    ev = ev.astype({c: "string" for c in ev.columns if c not in ("ts", "amount")})
    ev.to_parquet(out / "events.parquet", index=False)
    assert eligible(out / "events.parquet")
    return out, ev


def _problems(err: DataValidationError) -> list[tuple]:
    return [(p.file, p.column, p.check, p.rows, p.values, p.count, p.fix) for p in err.problems]


def _reports(d: Path, caplog) -> dict[bool, list[tuple]]:
    """The problem report of a load of ``d`` whole (``False``) and streamed (``True``), the SQL checks' log kept."""
    reports = {}
    for stream in (False, True):
        with caplog.at_level(logging.INFO, logger="commlab.data.checks_sql"), \
                pytest.raises(DataValidationError) as err:
            load_dataset(d, cache="", stream=stream)
        reports[stream] = _problems(err.value)
    return reports


def test_clean_events_are_checked_and_ordered_in_sql_without_pandas_chunks(tmp_path, samples_dir, monkeypatch):
    d, _ = _folder(samples_dir, tmp_path / "clean")
    whole = load_dataset(d, cache="", stream=False)

    def no_chunks(*args, **kwargs):
        raise AssertionError("the events were read in pandas chunks")

    monkeypatch.setattr(streamed, "iter_raw_chunks", no_chunks)
    got = load_dataset(d, cache=tmp_path / "cache", stream=True)
    assert isinstance(got.events_source, StoredEvents)
    pd.testing.assert_frame_equal(got.events, whole.events)  # same rows, order, ties, columns and dtypes
    assert (got.n_events, got.encodings) == (whole.n_events, whole.encodings)


def test_a_problem_found_in_sql_is_reported_as_the_chunks_report_it(tmp_path, samples_dir, caplog):
    d, ev = _folder(samples_dir, tmp_path / "broken")
    rows = ev.index[[10, 20_000, 300_000]]
    ev.loc[rows[0], "amount"] = -5.0
    ev.loc[rows[1], "member_id"] = "ghost"
    ev.loc[rows[2], "event_type"] = "teleport"
    ev.loc[ev.index[30], "channel"] = " 大厅 "  # a value the import strips: not a problem, but not canonical
    ev.to_parquet(d / "events.parquet", index=False)
    reports = _reports(d, caplog)
    assert "the SQL checks found" in caplog.text
    # the member "ghost" is looked up by the sorted copy as it assigns member keys (test_member_keys.py), which
    # the problems found first spare; the chunked path reports it
    for key in ("negative_amount", "unknown_event_type"):
        assert key in caplog.text
    assert reports[True] == reports[False]
    checks = {(c, check): (rows, count) for _, c, check, rows, _, count, _ in reports[True]}
    assert checks[("amount", "negative amount")] == ([12], 1)
    assert checks[("event_type", "unknown event_type value")] == ([300_002], 1)
    assert checks[("member_id", "event by a member not in the members table")][1] == 1


def test_padded_text_goes_to_the_chunks_which_strip_it(tmp_path, samples_dir, caplog):
    d, ev = _folder(samples_dir, tmp_path / "padded")
    ev.loc[ev.index[30], "channel"] = "\u3000大厅 "
    ev.to_parquet(d / "events.parquet", index=False)
    with caplog.at_level(logging.INFO, logger="commlab.data.checks_sql"):
        got = load_dataset(d, cache="", stream=True)
    assert "values to coerce" in caplog.text
    whole = load_dataset(d, cache="", stream=False)
    pd.testing.assert_frame_equal(got.events, whole.events)
    assert "大厅" in set(got.events["channel"].dropna())


@pytest.mark.parametrize("statistics", [True, False])
def test_a_missing_value_is_found_from_the_footer_or_by_the_query(tmp_path, samples_dir, caplog, statistics):
    """The footer's null counts stand for the query's count of missing values; a file without them is queried."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    d, ev = _folder(samples_dir, tmp_path / "missing")
    ev.loc[ev.index[40], "member_id"] = pd.NA
    pq.write_table(pa.Table.from_pandas(ev, preserve_index=False), d / "events.parquet", write_statistics=statistics)
    reports = _reports(d, caplog)
    assert ("the footer counts missing values" in caplog.text) == statistics
    assert ("'missing': 1" in caplog.text) == (not statistics)  # counted by the query
    assert reports[True] == reports[False]
    assert any(c == "member_id" and rows == [42] for _, c, _, rows, _, _, _ in reports[True])
