"""The importer and loader findings of issue 22, one test each: hostile or damaged input, clear outcome.

Every case goes through the command line (:func:`commlab.cli.main`), as a user meets it: exit code 3
and one ``commlab: error:`` line naming the file, the record and the field, nothing written; or, where
skipping is right, exit 0 with the skip counted in ``import_report.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import shutil
import tracemalloc
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import commlab.importers.files as files
import commlab.importers.stackexchange_xml as sx
from commlab.cli import main
from commlab.errors import ImportFormatError
from commlab.importers import convert, import_source
from commlab.privacy import KEY_ENV

FIX = Path(__file__).parent / "fixtures" / "importers"
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
DISCORD = "示例读书会 - 文字频道 - 综合讨论 [900000000000000010].json"


def _cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["-q", *argv])
    return rc, err.getvalue()


def _fails(fmt: str, source: Path, out: Path, *must: str, options: tuple[str, ...] = ()) -> str:
    """Import ``source``: exit 3, one error line holding every text in ``must``, no traceback, nothing written."""
    argv = ["import", fmt, str(source), "--out", str(out)]
    for o in options:
        argv += ["-o", o]
    rc, err = _cli(*argv)
    first = err.strip().splitlines()[0] if err.strip() else ""
    assert rc == 3, err
    assert "Traceback" not in err and first.startswith("commlab: error: "), err
    for text in must:
        assert text in first, f"{text!r} not in {first!r}"
    assert not out.exists() and not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    return first


def _imports(fmt: str, source: Path, out: Path, *options: str) -> dict:
    argv = ["import", fmt, str(source), "--out", str(out)]
    for o in options:
        argv += ["-o", o]
    rc, err = _cli(*argv)
    assert rc == 0, err
    return json.loads((out / "import_report.json").read_text(encoding="utf-8"))


def _copy(tmp_path: Path, name: str) -> Path:
    shutil.copytree(FIX / name, tmp_path / name)
    return tmp_path / name


def _edit_json(path: Path, edit) -> None:  # noqa: ANN001
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _edit_jsonl(path: Path, edit) -> None:  # noqa: ANN001
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    edit(items)
    path.write_text("\n".join(json.dumps(m, ensure_ascii=False) for m in items) + "\n", encoding="utf-8")


# --- silent corruptions ---------------------------------------------------------------------------


def test_discord_message_without_author_id_is_dropped_and_counted_not_member_none(tmp_path: Path) -> None:
    src = _copy(tmp_path, "discord")
    clean = _imports("discord", FIX / "discord", tmp_path / "clean")

    def no_author_ids(d: dict) -> None:
        for m in d["messages"]:
            m["author"].pop("id", None)

    _edit_json(src / DISCORD, no_author_ids)
    rep = _imports("discord", src, tmp_path / "out")
    members = pd.read_parquet(tmp_path / "out" / "members.parquet")
    assert "None" not in set(members["member_id"])
    n = len(json.loads((FIX / "discord" / DISCORD).read_text(encoding="utf-8"))["messages"])
    assert rep["dropped"]["message without author.id (unknown sender)"] == n
    assert rep["rows_mapped"]["events"] < clean["rows_mapped"]["events"]


def test_telegram_from_id_object_is_an_error_naming_message_and_field(tmp_path: Path) -> None:
    src = _copy(tmp_path, "telegram")
    _edit_json(src / "result.json", lambda d: d["messages"][1].update(from_id={"a": [1]}))
    _fails("telegram", src, tmp_path / "out", "result.json", "message 5", "field 'from_id'", "{'a': [1]}")


def test_wecom_roomid_list_is_an_error_naming_line_and_field(tmp_path: Path) -> None:
    src = _copy(tmp_path, "wecom")
    _edit_jsonl(src / "messages.jsonl", lambda items: items[0].update(roomid=["a"]))
    _fails("wecom", src, tmp_path / "out", "messages.jsonl", "line 1", "'CAQQdemo0001'", "field 'roomid'")


def test_stackexchange_23_digit_owner_is_an_error_not_a_deleted_account(tmp_path: Path) -> None:
    src = _copy(tmp_path, "stackexchange_xml")
    xml = (src / "Posts.xml").read_text(encoding="utf-8-sig").replace('OwnerUserId="8"', f'OwnerUserId="{"9" * 23}"')
    (src / "Posts.xml").write_text(xml, encoding="utf-8")
    _fails("stackexchange_xml", src, tmp_path / "out", "Posts.xml", "attribute OwnerUserId", "row element 2", "9" * 23)


def _dup_telegram(src: Path) -> None:
    _edit_json(src / "result.json", lambda d: d["messages"].append(dict(d["messages"][1])))


def _dup_discord(src: Path) -> None:
    _edit_json(src / DISCORD, lambda d: d["messages"].append(dict(d["messages"][1])))


def _dup_wecom(src: Path) -> None:
    _edit_jsonl(src / "messages.jsonl", lambda items: items.append(dict(items[1])))


def _dup_wechat(src: Path) -> None:
    f = src / "读书会_utf8.csv"
    lines = f.read_text(encoding="utf-8-sig").splitlines()
    f.write_text("\n".join([*lines, lines[2]]) + "\n", encoding="utf-8-sig")


def _dup_mapping(src: Path) -> None:
    spec = (src / "mapping.yaml").read_text(encoding="utf-8").replace("columns:\n", "columns:\n  message_id: 消息ID\n")
    (src / "mapping.yaml").write_text(spec, encoding="utf-8")
    f = src / "群聊记录.csv"
    lines = f.read_text(encoding="utf-8").splitlines()
    rows = [f"{'消息ID' if i == 0 else f'm{i}'},{line}" for i, line in enumerate(lines)]
    f.write_text("\n".join([*rows, rows[2]]) + "\n", encoding="utf-8")


@pytest.mark.parametrize(("fmt", "fixture", "source", "options", "duplicate"), [
    ("telegram", "telegram", ".", (), _dup_telegram),
    ("discord", "discord", ".", (), _dup_discord),
    ("wecom", "wecom", ".", (), _dup_wecom),
    ("wechat", "wechat/lc044", ".", ("owner_id=wxid_demo0002",), _dup_wechat),
    ("mapping", "mapping", "mapping.yaml", (), _dup_mapping),
])
def test_duplicate_message_ids_are_dropped_and_counted(tmp_path: Path, fmt: str, fixture: str, source: str,
                                                       options: tuple[str, ...], duplicate) -> None:  # noqa: ANN001
    src = _copy(tmp_path, fixture)
    if fmt == "mapping":  # the fixture has no message id column: give it one, clean, then repeat a row
        shutil.copytree(src, tmp_path / "clean-src")
        _dup_mapping(tmp_path / "clean-src")
        f = tmp_path / "clean-src" / "群聊记录.csv"
        f.write_text("\n".join(f.read_text(encoding="utf-8").splitlines()[:-1]) + "\n", encoding="utf-8")
        clean = _imports(fmt, tmp_path / "clean-src" / source, tmp_path / "clean", *options)
    else:
        clean = _imports(fmt, src / source, tmp_path / "clean", *options)
    duplicate(src)
    rep = _imports(fmt, src / source, tmp_path / "out", *options)
    assert rep["dropped"]["duplicate message id (the first is kept)"] == 1
    assert rep["rows_mapped"] == clean["rows_mapped"]
    for table in ("events", "members"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / f"{table}.parquet"),
                                      pd.read_parquet(tmp_path / "clean" / f"{table}.parquet"))


# --- times out of range, overflowing Unix times ---------------------------------------------------


def _set_line(path: Path, old: str, new: str, encoding: str = "utf-8") -> None:
    text = path.read_text(encoding=encoding)
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding=encoding)


@pytest.mark.parametrize("value", ["100000000000", str(10**30)])
@pytest.mark.parametrize(("fmt", "fixture", "file", "old", "new", "must"), [
    ("telegram", "telegram", "result.json", '"date_unixtime": "1709285400"', '"date_unixtime": "{v}"',
     ("message 5", "field 'date_unixtime'")),
    ("slack", "slack", "general/2024-03-01.json", '"ts": "1709287320.000300"', '"ts": "{v}.000300"',
     ("message '{v}.000300'", "field 'ts'")),
    ("wecom", "wecom", "messages.jsonl", '"msgtime":1709287300000', '"msgtime":{v}000', ("line 2", "field 'msgtime'")),
    ("wechat", "wechat/lc044", "读书会_utf8.csv", ",1709287265,", ",{v},", ("row 3", "field 'CreateTime'")),
])
def test_unix_times_out_of_range_or_overflowing_are_errors(tmp_path: Path, value: str, fmt: str, fixture: str,
                                                           file: str, old: str, new: str, must: tuple) -> None:
    src = _copy(tmp_path, fixture)
    _set_line(src / file, old, new.format(v=value), "utf-8-sig" if file.endswith(".csv") else "utf-8")
    opts = ("owner_id=wxid_demo0002",) if fmt == "wechat" else ()
    _fails(fmt, src, tmp_path / "out", Path(file).name, *(m.format(v=value) for m in must), options=opts)


def test_snap_and_mapping_unix_times_out_of_range(tmp_path: Path) -> None:
    f = tmp_path / "edges.txt"
    f.write_text("# SRC DST UNIXTS\n1 2 1082040961\n2 3 100000000000\n", encoding="utf-8")
    _fails("snap", f, tmp_path / "out", "edges.txt", "line 3", "field 'UNIXTS'", "1678-2261")
    f.write_text("1 2 1082040961\n2 3 1000000000000000000000000000000\n", encoding="utf-8")
    _fails("snap", f, tmp_path / "out", "edges.txt", "line 2", "field 'UNIXTS'")
    d = _copy(tmp_path, "mapping")
    (d / "unix.csv").write_text("用户ID,时间,类型\nu1,1709287200,发言\nu2,100000000000,发言\n", encoding="utf-8")
    spec = (d / "mapping.yaml").read_text(encoding="utf-8")
    spec = spec.split("columns:")[0].replace("群聊记录.csv", "unix.csv") + (
        "columns:\n  member_id: 用户ID\n  ts: 时间\n  event_type: 类型\nvalues:\n  event_type: {发言: message}\n"
        "time:\n  unit: s\n")
    (d / "unix.yaml").write_text(spec, encoding="utf-8")
    _fails("mapping", d / "unix.yaml", tmp_path / "out", "unix.csv", "row 3", "field '时间'", "1678-2261")


@pytest.mark.parametrize(("fmt", "fixture", "file", "old", "must"), [
    ("discord", "discord", DISCORD, '"timestamp": "2024-03-01T18:00:00.000+08:00"',
     ("message '1213000000000000001'", "field 'timestamp'")),
    ("qq", "qq", "示例学习群.txt", "2024-03-01 18:01:05 王芳", ("line 12", "field 'time'")),
    ("wechat", "wechat/pywxdump", "wxid_demo0002_0_4.csv", "2024-03-02 08:01:00", ("row 3", "field 'CreateTime'")),
    ("mapping", "mapping", "群聊记录.csv", "2024/03/01 18:01", ("row 3", "field '时间'")),
    ("stackexchange_xml", "stackexchange_xml", "Posts.xml", 'CreationDate="2024-03-01T10:30:00.000"',
     ("attribute CreationDate", "row element 2")),
])
def test_text_times_in_year_9999_are_errors(tmp_path: Path, fmt: str, fixture: str, file: str, old: str,
                                            must: tuple) -> None:
    src = _copy(tmp_path, fixture)
    new = old.replace("2024", "9999")
    enc = "utf-8-sig" if fixture in ("qq", "stackexchange_xml") else "utf-8"
    _set_line(src / file, old, new, enc)
    source = src / "mapping.yaml" if fmt == "mapping" else src
    _fails(fmt, source, tmp_path / "out", Path(file).name, *must)


def test_samples_csv_with_year_9999_fails_validation_and_names_row(tmp_path: Path) -> None:
    events = pd.read_parquet(SAMPLES / "events.parquet").head(50)
    comm = pd.read_csv(SAMPLES / "communities.csv", dtype=str)
    members = pd.read_csv(SAMPLES / "members.csv", dtype=str)
    comm[comm["community_id"].isin(events["community_id"])].to_csv(tmp_path / "communities.csv", index=False)
    members[members["community_id"].isin(events["community_id"])].to_csv(tmp_path / "members.csv", index=False)
    ev = events.assign(ts=events["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    ev.loc[7, "ts"] = "9999-12-31 23:59:59"
    ev.to_csv(tmp_path / "events.csv", index=False)
    rc, err = _cli("validate", str(tmp_path), "--tz", "UTC")
    assert rc == 3 and "Traceback" not in err
    assert "events.csv, column 'ts': unparseable time [1 row(s)] — row 9: '9999-12-31 23:59:59'" in err


# --- deep nesting, wrong types ----------------------------------------------------------------------


def _deep(path: Path, key: str) -> None:
    text = path.read_text(encoding="utf-8")
    at = text.index(f'"{key}"')
    path.write_text(text[:at] + f'"deep": {"[" * 100_000}{"]" * 100_000}, ' + text[at:], encoding="utf-8")


@pytest.mark.parametrize(("fmt", "fixture", "file", "key"), [
    ("telegram", "telegram", "result.json", "type"),
    ("slack", "slack", "users.json", "team_id"),
    ("discord", "discord", DISCORD, "timestamp"),
    ("discourse", "discourse", "posts-page1.json", "name"),
])
def test_json_nested_past_the_parser_is_an_error_naming_the_line(tmp_path: Path, fmt: str, fixture: str,
                                                                 file: str, key: str) -> None:
    src = _copy(tmp_path, fixture)
    _deep(src / file, key)
    _fails(fmt, src, tmp_path / "out", Path(file).name, "line ", "JSON nested too deep")


def test_wecom_ndjson_nested_past_the_parser_names_the_line(tmp_path: Path) -> None:
    src = _copy(tmp_path, "wecom")
    lines = (src / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:-1] + f', "deep": {"[" * 100_000}{"]" * 100_000}}}'
    (src / "messages.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _fails("wecom", src, tmp_path / "out", "messages.jsonl", "line 3", "nested too deep")


def test_wrongly_typed_fields_are_errors_naming_record_and_field(tmp_path: Path) -> None:
    src = _copy(tmp_path, "discourse")
    _edit_json(src / "posts-page1.json", lambda d: d["latest_posts"][0].update(post_number="abc"))
    _fails("discourse", src, tmp_path / "out", "posts-page1.json", "post 5012", "field 'post_number'", "'abc'")
    src = _copy(tmp_path, "slack")
    _edit_json(src / "users.json", lambda d: d[1].update(profile="李雷"))
    _fails("slack", src, tmp_path / "out2", "users.json", "user 'U0DEMO002'", "field 'profile'", "expected an object")


def test_snap_gbk_binary_and_huge_numbers_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "edges.txt"
    f.write_bytes("1 2 1082040961\n# 注释\n2 3 1082040999\n".encode("gbk"))
    _fails("snap", f, tmp_path / "out", "edges.txt", "line 2", "not UTF-8")
    f.write_bytes(b"1 2 1082040961\n2 3 1082\xff\x00040999\n")
    _fails("snap", f, tmp_path / "out", "edges.txt", "line 2", "not UTF-8")
    f.write_text("1 2 1082040961\n2 99999999999999999999 1082040999\n", encoding="utf-8")  # was 'line None'
    _fails("snap", f, tmp_path / "out", "edges.txt", "line 2", "field 'DST'")


# --- data loading -----------------------------------------------------------------------------------


def test_unknown_time_zone_is_a_clear_error(tmp_path: Path) -> None:
    d = _copy(tmp_path, "mapping")
    _set_line(d / "mapping.yaml", "tz: Asia/Shanghai", "tz: Mars/Olympus")
    _fails("mapping", d / "mapping.yaml", tmp_path / "out", "mapping.yaml", "time.tz", "Mars/Olympus")
    rc, err = _cli("import", "telegram", str(FIX / "telegram"), "--out", str(tmp_path / "out"), "-o",
                   "tz=Mars/Olympus")
    assert rc == 2 and "unknown time zone 'Mars/Olympus'" in err and "Traceback" not in err
    rc, err = _cli("validate", str(SAMPLES), "--tz", "Mars/Olympus")
    assert rc == 2 and "unknown time zone 'Mars/Olympus'" in err and "Traceback" not in err


@pytest.mark.parametrize("column", ["member_id", "community_id"])
def test_members_without_a_key_column_is_a_problem_not_a_key_error(tmp_path: Path, column: str) -> None:
    shutil.copy(SAMPLES / "communities.csv", tmp_path)
    shutil.copy(SAMPLES / "events.parquet", tmp_path)
    members = pd.read_csv(SAMPLES / "members.csv", dtype=str)
    other = members.index[members["community_id"] != members["community_id"].iloc[0]][0]
    members.loc[other, "member_id"] = members.loc[0, "member_id"]  # one id in two communities: unique per community
    members.drop(columns=[column]).to_csv(tmp_path / "members.csv", index=False)
    rc, err = _cli("validate", str(tmp_path))
    assert rc == 3 and "Traceback" not in err and "internal error" not in err
    assert f"members.csv, column '{column}': missing column" in err


def test_a_gz_name_on_a_plain_file_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "chat.csv.gz"
    f.write_bytes((FIX / "wechat" / "lc044" / "读书会_utf8.csv").read_bytes())  # starts with a BOM, b'\xef\xbb'
    for fmt in ("wechat", "qq", "wecom", "snap"):
        _fails(fmt, f, tmp_path / "out", "chat.csv.gz", "not a complete gzip file")
    d = tmp_path / "data"
    shutil.copytree(SAMPLES, d, ignore=shutil.ignore_patterns("truth", "*.md"))
    (d / "members.csv").rename(d / "members.csv.gz")
    rc, err = _cli("validate", str(d))
    assert rc == 3 and "members.csv.gz: unreadable file (BadGzipFile" in err


def test_empty_xml_and_snap_inputs_say_so(tmp_path: Path) -> None:
    d = tmp_path / "dump"
    d.mkdir()
    (d / "Posts.xml").write_text('<?xml version="1.0" encoding="utf-8"?>\n<posts>\n</posts>\n', encoding="utf-8")
    first = _fails("stackexchange_xml", d, tmp_path / "out", "Posts.xml", "nothing to import")
    assert "created_at" not in first
    f = tmp_path / "edges.txt"
    f.write_text("# only a comment\n\n", encoding="utf-8")
    first = _fails("snap", f, tmp_path / "out", "edges.txt", "no edges")
    assert "created_at" not in first


# --- confinement, archives, XML attributes, e-mail hashes -----------------------------------------------


def test_mapping_file_is_confined_to_the_mapping_folder(tmp_path: Path) -> None:
    d = _copy(tmp_path, "mapping")
    spec = (d / "mapping.yaml").read_text(encoding="utf-8")
    outside = tmp_path / "secret.csv"
    shutil.copy(d / "群聊记录.csv", outside)
    for name in ("/etc/passwd", "../secret.csv", str(outside)):
        (d / "evil.yaml").write_text(spec.replace("file: 群聊记录.csv", f"file: {name}"), encoding="utf-8")
        _fails("mapping", d / "evil.yaml", tmp_path / "out", "evil.yaml", "field 'file'",
               "outside the mapping's folder")
    (d / "link.csv").symlink_to(outside)
    (d / "evil.yaml").write_text(spec.replace("file: 群聊记录.csv", "file: link.csv"), encoding="utf-8")
    _fails("mapping", d / "evil.yaml", tmp_path / "out", "evil.yaml", "outside the mapping's folder")
    (d / "sub").mkdir()
    shutil.copy(d / "群聊记录.csv", d / "sub" / "data.csv")
    (d / "ok.yaml").write_text(spec.replace("file: 群聊记录.csv", "file: sub/data.csv"), encoding="utf-8")
    assert _imports("mapping", d / "ok.yaml", tmp_path / "ok1")["rows_mapped"]["events"] == 5
    # a data file elsewhere is fine when the user names it on the command line
    rep = _imports("mapping", outside, tmp_path / "ok2", f"mapping={d / 'mapping.yaml'}")
    assert rep["rows_mapped"]["events"] == 5


def _slack_zip(path: Path, big: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in (FIX / "slack").rglob("*.json"):
            zf.write(p, p.relative_to(FIX / "slack").as_posix())
        with zf.open("general/2024-03-03.json", "w") as fh:  # a day file of `big` bytes, streamed in
            chunk = b" " * (1 << 20)
            fh.write(b"[")
            for _ in range(big >> 20):
                fh.write(chunk)
            fh.write(b"]")
    return path


def test_slack_zip_member_past_the_cap_is_refused_before_it_is_inflated(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    z = _slack_zip(tmp_path / "ws.zip", 64 << 20)  # 64 MB of spaces, 64 KB compressed
    assert z.stat().st_size < 1 << 20
    monkeypatch.setattr(files, "MAX_INFLATED_BYTES", 16 << 20)
    _fails("slack", z, tmp_path / "out", "ws.zip!general/2024-03-03.json", "inflates to 64 MB, more than 16 MB")
    # a member whose declared size is under the cap is still counted while it inflates
    with zipfile.ZipFile(z) as zf, pytest.raises(ImportFormatError, match="more than 16 MB") as err:
        tracemalloc.start()
        try:
            files.read_capped(zf.open("general/2024-03-03.json"), "x")
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert "inflates to more than 16 MB" in str(err.value)
    assert peak < 24 << 20  # stopped at the cap: never the 64 MB


def test_xml_attribute_parsing_is_linear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feeds: list[int] = []

    class Counting(ET.XMLPullParser):
        def feed(self, data: bytes) -> None:
            feeds.append(len(data))
            super().feed(data)

    monkeypatch.setattr(sx.ET, "XMLPullParser", Counting)
    body = "x" * (8 << 20)
    d = tmp_path / "dump"
    d.mkdir()
    (d / "Posts.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<posts>\n'
        f'  <row Id="1" PostTypeId="1" CreationDate="2024-03-01T10:00:00.000" OwnerUserId="7" Body="{body}" />\n'
        '  <row Id="2" PostTypeId="2" ParentId="1" CreationDate="2024-03-01T11:00:00.000" OwnerUserId="8" />\n'
        "</posts>\n", encoding="utf-8")
    rows = list(sx.iter_rows(d / "Posts.xml", ("Id", "Body")))
    assert [r[0] for r in rows] == ["1", "2"] and len(rows[0][1]) == 8 << 20
    # fed in doubling pieces while the 8 MB token is incomplete: expat re-reads it at most ~log2(8 MB / 64 KB)
    # times, 16 MB in all (iterparse fed 16 KB at a time: 512 feeds, each re-reading the token so far)
    assert len(feeds) <= 12 and sum(feeds) == (d / "Posts.xml").stat().st_size
    assert max(feeds) <= 16 << 20


def test_email_hashes_are_keyed_not_plain_sha256(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key is an argument (``commlab import`` reads it from the environment): the importers never read it."""
    monkeypatch.setenv(KEY_ENV, "a-key-the-importers-must-not-read")
    ds, rep = convert("slack", FIX / "slack", pseudonym_key="client-key-1")
    got = ds.members.set_index("member_id")["email_hash"]
    keyed = hmac.new(b"client-key-1", b"wangfang@example.com", hashlib.sha256).hexdigest()
    assert got["U0DEMO001"] == keyed
    assert got["U0DEMO001"] != hashlib.sha256(b"wangfang@example.com").hexdigest()
    assert any("keyed with $COMMLAB_PSEUDONYM_KEY" in n for n in rep.notes)
    other = convert("discourse", FIX / "discourse", pseudonym_key="client-key-2")[0].members.set_index(
        "member_id")["email_hash"]
    assert other["42"] == hmac.new(b"client-key-2", b"wangfang@example.com", hashlib.sha256).hexdigest() != keyed
    ds, rep = convert("slack", FIX / "slack")  # no key given: the environment's is not used
    assert any("random key of this import" in n for n in rep.notes)
    env_keyed = hmac.new(b"a-key-the-importers-must-not-read", b"wangfang@example.com", hashlib.sha256).hexdigest()
    assert ds.members.set_index("member_id")["email_hash"]["U0DEMO001"] not in (keyed, env_keyed)
    out = tmp_path / "out"
    import_source("slack", FIX / "slack", out)
    members = pd.read_parquet(out / "members.parquet")
    assert "email" not in members.columns and not members.astype(str).apply(
        lambda c: c.str.contains("@example.com")).any().any()
