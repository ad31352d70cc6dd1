"""The data cache: notebooks of one run validate the data once and read it back identically."""

from __future__ import annotations

import gzip
import logging
import shutil
from pathlib import Path

import pandas as pd
import pytest

import commlab.importers.se_csv as se_csv
from commlab.data import load_dataset
from commlab.data.cache import CACHE_ENV
from commlab.data.stored import StoredEvents
from commlab.errors import DataValidationError
from commlab.settings import settings_from_env
from commlab.sources import attribution, load_source
from conftest import require_shared_data
from test_load import write_tiny


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _assert_same(a, b) -> None:
    for name in ("communities", "members", "events"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert (a.files, a.sha256, a.encodings, a.tz) == (b.files, b.sha256, b.encodings, b.tz)


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_cached_load_equals_a_fresh_load(tmp_path, samples_dir, encoding):
    data = tmp_path / "data"
    shutil.copytree(samples_dir, data)
    for name in ("communities", "members"):  # GBK as Excel on a Chinese Windows writes it (events: Parquet)
        f = data / f"{name}.csv"
        f.write_bytes(f.read_text(encoding="utf-8").encode(encoding))
    fresh = load_dataset(data)
    cache = tmp_path / "cache"
    first = load_dataset(data, cache=cache)
    (entry,) = _entries(cache)
    assert {p.name for p in entry.iterdir()} == {"communities.parquet", "members.parquet", "events.parquet",
                                                  "dataset.json"}
    again = load_dataset(data, cache=cache)
    _assert_same(fresh, first)
    _assert_same(fresh, again)
    subset = load_dataset(data, cache=cache, communities=["c01"])
    assert set(subset.events["community_id"]) == {"c01"}
    _assert_same(subset, load_dataset(data, communities=["c01"]))


def test_the_second_load_reads_the_cache_not_the_files(tmp_path, monkeypatch):
    data = write_tiny(tmp_path / "data")
    cache = tmp_path / "cache"
    load_dataset(data, cache=cache)
    import commlab.data.load as load_module

    def no_coercion(*args, **kwargs):
        raise AssertionError("the files were read and validated again")

    monkeypatch.setattr(load_module, "coerce_table", no_coercion)
    assert len(load_dataset(data, cache=cache).events) == 3


def test_a_changed_file_is_validated_again(tmp_path):
    data = write_tiny(tmp_path / "data")
    cache = tmp_path / "cache"
    assert len(load_dataset(data, cache=cache).events) == 3
    with open(data / "events.csv", "a", encoding="utf-8") as fh:
        fh.write("c1,m1,2024-01-04 10:00,message,,\n")
    assert len(load_dataset(data, cache=cache).events) == 4
    assert len(_entries(cache)) == 2  # one entry per content
    with open(data / "events.csv", "a", encoding="utf-8") as fh:
        fh.write("c1,ghost,2024-01-05 10:00,message,,\n")
    with pytest.raises(DataValidationError, match="ghost"):
        load_dataset(data, cache=cache)
    assert len(_entries(cache)) == 2  # invalid data is never stored


def test_another_time_zone_is_another_entry(tmp_path):
    data = write_tiny(tmp_path / "data")
    cache = tmp_path / "cache"
    shanghai = load_dataset(data, cache=cache)
    utc = load_dataset(data, cache=cache, tz="UTC")
    assert (shanghai.events["ts"] - utc.events["ts"]).iloc[0] == pd.Timedelta(hours=-8)
    assert len(_entries(cache)) == 2


def test_the_environment_variable_names_the_cache_at_the_boundary_only(tmp_path, monkeypatch):
    """``COMMLAB_DATA_CACHE`` reaches a load through ``settings_from_env`` (a notebook's first cell); a load
    given no folder uses none, whatever the environment says."""
    data = write_tiny(tmp_path / "data")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env-cache"))
    load_dataset(data)
    assert not (tmp_path / "env-cache").exists()
    load_dataset(data, **settings_from_env().load_options())
    assert len(_entries(tmp_path / "env-cache")) == 1
    monkeypatch.setenv(CACHE_ENV, "")
    assert settings_from_env().cache_dir is None  # empty: no cache


def test_a_cache_that_cannot_be_written_or_read_only_costs_time(tmp_path, caplog):
    data = write_tiny(tmp_path / "data")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="commlab.data.cache"):
        ds = load_dataset(data, cache=blocked)
    assert len(ds.events) == 3 and "not cached" in caplog.text
    cache = tmp_path / "cache"
    load_dataset(data, cache=cache)
    (entry,) = _entries(cache)
    (entry / "events.parquet").write_bytes(b"truncated")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="commlab.data.cache"):
        again = load_dataset(data, cache=cache)
    assert len(again.events) == 3 and "unreadable" in caplog.text


def test_a_stack_exchange_folder_is_converted_once_per_run(tmp_path, monkeypatch):
    """The se_180d source uses the cache as load_dataset does: same data back, a changed file converts again."""
    original = require_shared_data("se_communities_180d")
    root = tmp_path / "se"
    shutil.copytree(original, root)
    fresh = load_source(root, "se_180d")
    cache = tmp_path / "cache"
    first = load_source(root, "se_180d", cache=cache)
    assert len(_entries(tmp_path / "cache")) == 1
    convert = se_csv.read_se_180d_all
    monkeypatch.setattr(se_csv, "read_se_180d_all", lambda *a, **k: pytest.fail("converted again"))
    again = load_source(root, "se_180d", cache=cache)
    assert isinstance(again.events_source, StoredEvents)
    _assert_same(fresh, first)
    _assert_same(fresh, again)
    assert attribution(again) == attribution(fresh) and "Stack Exchange" in attribution(again)
    some = sorted(fresh.communities["community_id"])[:2]
    _assert_same(load_source(root, "se_180d", communities=some, cache=cache), fresh.subset(some))
    # a changed file is another entry, converted from the files
    monkeypatch.setattr(se_csv, "read_se_180d_all", convert)
    victim = sorted(root.rglob("*_users.csv.gz"))[0]
    before = victim.read_bytes()
    victim.write_bytes(gzip.compress(gzip.decompress(before), compresslevel=1, mtime=0))  # same rows, new bytes
    assert victim.read_bytes() != before
    load_source(root, "se_180d", cache=cache)
    assert len(_entries(tmp_path / "cache")) == 2


def _hash_reads(monkeypatch) -> list[str]:
    """The files :func:`commlab.data.io.sha256_file` opens from now on."""
    import builtins

    import commlab.data.io as io_module

    opened: list[str] = []
    real_open = builtins.open

    def spy(file, mode="r", *args, **kwargs):
        if mode == "rb":
            opened.append(Path(file).name)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(io_module, "open", spy, raising=False)
    monkeypatch.setattr(io_module, "_SHA256", {})
    return opened


def test_a_run_hashes_each_unchanged_data_file_once(tmp_path, monkeypatch):
    import commlab.data.io as io_module
    from commlab.data.io import sha256_file
    from commlab.manifest import input_hashes

    data = write_tiny(tmp_path / "data")
    opened = _hash_reads(monkeypatch)
    monkeypatch.setattr(io_module, "_SETTLED_S", -1.0)  # the tiny files were written just now
    load_dataset(data, cache=tmp_path / "cache")
    hashes = input_hashes(playbook=None, notebooks=[], data_dir=data)
    assert sorted(opened) == ["communities.csv", "events.csv", "members.csv"]  # once each, by the load
    import hashlib

    assert hashes == {str(f.resolve()): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(data.iterdir())}
    # the same bytes rewritten (same size, times set back to the very same values): hashed again
    f = data / "events.csv"
    before = f.stat()
    text = f.read_bytes()
    f.write_bytes(text.replace(b"c1", b"c2", 1))
    import os

    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert sha256_file(f) == hashlib.sha256(f.read_bytes()).hexdigest() != hashes[str(f.resolve())]
    assert opened.count("events.csv") == 2


def test_a_file_changed_just_now_is_hashed_at_every_call(tmp_path, monkeypatch):
    """Within one tick of the file system's clock a rewrite can keep size, inode and times: not remembered."""
    from commlab.data.io import sha256_file

    f = tmp_path / "events.csv"
    f.write_bytes(b"abc")
    opened = _hash_reads(monkeypatch)
    first = sha256_file(f)
    assert sha256_file(f) == first
    assert opened == ["events.csv", "events.csv"]
