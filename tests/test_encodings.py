"""One encoding detector (commlab.data.io.decode_bytes) for data files and importers alike."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from commlab.data.io import decode_bytes, detect_encoding, other_cjk_encoding, read_raw_table
from commlab.errors import ImportFormatError
from commlab.importers.files import decode_text

CSV_ZH = "member_id,nickname,role\nm1,王敏娟,owner\nm2,李雷,member\nm3,韩梅梅,staff\n"
#: Names with characters outside GB2312 (GBK only): still GBK, never refused.
CSV_RARE = "member_id,nickname\nm1,堃\nm2,昇\nm3,喆\nm4,赟\nm5,王敏娟\n"
TEXT_ZH = "群主：今天晚上八点直播，大家记得准时参加！欢迎新成员加入读书会。\n" * 5


@pytest.mark.parametrize(("raw", "enc"), [
    (CSV_ZH.encode("utf-8"), "utf-8-sig"),
    (b"\xef\xbb\xbf" + CSV_ZH.encode("utf-8"), "utf-8-sig"),
    (CSV_ZH.encode("utf-16"), "utf-16"),
    (CSV_ZH.encode("gbk"), "gb18030"),
    (CSV_RARE.encode("gbk"), "gb18030"),
    (TEXT_ZH.encode("gb18030"), "gb18030"),
])
def test_chinese_text_is_read_in_every_encoding_it_comes_in(raw, enc):
    text, found = decode_bytes(raw, name="m.csv")
    assert found == enc and text.lstrip("\ufeff") in (CSV_ZH, CSV_RARE, TEXT_ZH)
    assert decode_text(raw, "m.csv") == text


@pytest.mark.parametrize(("raw", "named"), [
    ("群主：今天晚上八點直播，大家記得準時參加！歡迎新成員加入讀書會。\n".encode("big5") * 3, "Big5"),
    ("member_id,nickname,role\nm1,王敏娟,owner\nm2,李雷,member\nm3,韓梅梅,staff\n".encode("big5"), "Big5"),
    ("今日の夜八時に配信します。皆さん、時間通りに参加してください。\n".encode("shift_jis") * 3, "Shift-JIS"),
])
def test_big5_and_shift_jis_are_named_not_read_as_garbage(raw, named, tmp_path):
    raw.decode("gb18030")  # GB18030 alone would take them
    assert named in (other_cjk_encoding(raw) or "")
    with pytest.raises(UnicodeDecodeError, match=f"m.csv looks like {named}.*save it as UTF-8"):
        decode_bytes(raw, name="m.csv")
    with pytest.raises(ImportFormatError, match=f"looks like {named}") as info:
        decode_text(raw, "m.csv")
    assert "UTF-8" in str(info.value)
    path = tmp_path / "members.csv.gz"
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(UnicodeDecodeError, match=named):
        detect_encoding(path)


def test_the_streamed_reader_and_the_whole_file_reader_agree(tmp_path):
    for name, raw in (("gbk.csv", CSV_ZH.encode("gbk")), ("u16.csv", CSV_ZH.encode("utf-16"))):
        path = tmp_path / name
        path.write_bytes(raw)
        frame, enc = read_raw_table(path)
        assert detect_encoding(path) == enc
        assert frame["nickname"].tolist() == ["王敏娟", "李雷", "韩梅梅"]
        chunks = pd.read_csv(path, encoding=enc, dtype=str)
        assert chunks["nickname"].tolist() == ["王敏娟", "李雷", "韩梅梅"]
