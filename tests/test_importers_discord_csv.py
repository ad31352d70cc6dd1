"""DiscordChatExporter CSV exports (messages only), written from FORMATS.md §3 (CsvMessageWriter.cs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from commlab.data.load import load_dataset
from commlab.errors import ImportFormatError, UsageError
from commlab.importers import convert, import_source

FIX = Path(__file__).parent / "fixtures" / "importers"
CSV_DIR = FIX / "discord_csv"
CSV = next(CSV_DIR.glob("*.csv"))


def test_discord_csv_fixture() -> None:
    ds, rep = convert("discord", CSV)
    c = ds.communities.iloc[0]
    assert c["community_id"] == "discord-示例读书会" and c["name"] == "示例读书会" and c["platform"] == "discord"
    ev = ds.events
    assert len(ev) == 4 and set(ev["event_type"]) == {"message"}
    assert set(ev["channel"]) == {"综合讨论"}
    assert ev["ts"].iloc[0] == pd.Timestamp("2024-03-01 10:00:00", tz="UTC")  # +08:00 stored as UTC
    assert ev["ts"].iloc[1] == pd.Timestamp("2024-03-01 10:01:05.123", tz="UTC")
    assert ev["text"].iloc[2] == '提醒：今晚 8 点线上讨论 "第一回"'
    assert ev["text"].iloc[3] == "多行内容\n第二行"
    assert ev["attachments"].tolist() == [0, 1, 0, 0]
    m = ds.members.set_index("member_id")
    assert sorted(m.index) == ["800000000000000001", "800000000000000002", "800000000000000099"]
    assert m.loc["800000000000000002", "display_name"] == "bob_demo"  # discriminator removed
    assert m.loc["800000000000000001", "joined_at"] == pd.Timestamp("2024-03-01 10:00:00", tz="UTC")
    assert rep.not_mapped == {"reaction in a CSV export (no reactor ids; export JSON to keep them)": 4}
    assert any("CSV export: messages only" in n for n in rep.notes)


def test_discord_csv_folder_import_source_and_community_id(tmp_path: Path) -> None:
    rep = import_source("discord", CSV_DIR, tmp_path / "out", community_id="book-club")
    ds = load_dataset(tmp_path / "out", tz="UTC")
    assert ds.communities.iloc[0]["community_id"] == "book-club"
    assert len(ds.events) == rep.rows_mapped["events"] == 4
    other = tmp_path / "two"
    other.mkdir()
    shutil.copy(CSV, other / CSV.name)
    shutil.copy(CSV, other / "另一个群 - 综合 [900000000000000077].csv")
    ds2, _ = convert("discord", other)
    assert sorted(ds2.communities["community_id"]) == ["discord-另一个群", "discord-示例读书会"]
    assert set(ds2.events.loc[ds2.events["community_id"] == "discord-另一个群", "channel"]) == {"综合"}
    with pytest.raises(UsageError, match="community_id applies to a source with one community"):
        convert("discord", other, community_id="x")


def test_discord_csv_wrong_header_and_mixed_folder(tmp_path: Path) -> None:
    f = tmp_path / "chan.csv"
    f.write_text("AuthorID,Author,Date,Content,Attachments,Reactions,Colour\n1,a,2024-03-01T10:00:00Z,hi,,,red\n",
                 encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"chan.csv: line 1 \(the header\): not a DiscordChatExporter CSV "
                                                r"export: unknown column\(s\) Colour; expected the header AuthorID"):
        convert("discord", f)
    f.write_text("AuthorID,Author,Date,Content,Attachments,Reactions\n1,a,,hi,,\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"chan.csv: row 2, field 'Date': empty"):
        convert("discord", f)
    f.write_text("AuthorID,Author,Date,Content,Attachments,Reactions\n1,a,yesterday,hi,,\n", encoding="utf-8")
    with pytest.raises(ImportFormatError,
                       match=r"chan.csv: row 2, field 'Date': unparseable or out-of-range time: 'yesterday'"):
        import_source("discord", f, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    (tmp_path / "chan.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"a mix of JSON \(1\) and CSV \(1\) exports"):
        convert("discord", tmp_path)
