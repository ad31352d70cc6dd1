"""Chat/forum importers on small fixtures written from FORMATS.md, and their malformed-input errors."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from commlab.data.load import load_dataset
from commlab.errors import ImportFormatError, UsageError
from commlab.importers import convert, import_source

FIX = Path(__file__).parent / "fixtures" / "importers"


def _ev(ds, **where):  # noqa: ANN001, ANN202
    ev = ds.events
    for k, v in where.items():
        ev = ev[ev[k] == v]
    return ev


# --- Telegram -------------------------------------------------------------------------------------


def test_telegram_fixture() -> None:
    ds, rep = convert("telegram", FIX / "telegram", theme="knowledge")
    assert ds.communities.iloc[0]["community_id"] == "telegram-1987654321"
    assert ds.communities.iloc[0]["name"] == "读书会·示例群"
    assert ds.communities.iloc[0]["theme"] == "knowledge"
    ev = ds.events.set_index("message_id")
    assert ev.loc["8"].query("event_type == 'reply'")["target_member_id"].item() == "user500002"
    assert ev.loc["8"].query("event_type == 'mention'")["target_member_id"].item() == "user500002"
    assert ev.loc["9"]["target_member_id"] == "user500001" and ev.loc["9"]["thread_id"] == "5"
    # reaction: local 18:02:00 with the message's +08:00 offset -> 10:02:00 UTC
    r = _ev(ds, event_type="reaction")
    assert list(r["ts"]) == [pd.Timestamp("2024-03-01 10:02:00", tz="UTC")]
    assert r["member_id"].item() == "user500002" and r["target_member_id"].item() == "user500001"
    assert pd.isna(ev.loc["10"]["target_member_id"])  # reply to a message not exported
    m = ds.members.set_index("member_id")
    assert m.loc["user500002", "role"] == "owner" and m.loc["user500001", "display_name"] == "王芳"
    assert m.loc["user500001", "joined_at"] == pd.Timestamp("2024-03-01 10:00:00", tz="UTC")
    assert m.loc["user500003", "left_at"] == pd.Timestamp("2024-03-02 01:00:00", tz="UTC")
    assert rep.not_mapped["@username mention (no user id in the export)"] == 1
    assert rep.not_mapped["reaction without a listed reactor (only a count)"] == 1


def test_telegram_wrong_shape(tmp_path: Path) -> None:
    f = tmp_path / "result.json"
    f.write_text(json.dumps([{"id": 1}]), encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"result.json: not a Telegram Desktop export.*found list"):
        convert("telegram", f)
    f.write_text('{"name": "x", "messages": [{"id": 1, "type": "mess', encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"result.json: not valid JSON \(line 1"):
        convert("telegram", tmp_path)


# --- Slack ----------------------------------------------------------------------------------------


def test_slack_folder_and_zip(tmp_path: Path) -> None:
    ds, rep = convert("slack", FIX / "slack", community_id="demo-slack")
    ev = ds.events
    reply = _ev(ds, event_type="reply")
    assert set(reply["target_member_id"]) == {"U0DEMO002"}
    assert set(reply["thread_id"]) == {"general/1709287260.000200"}
    assert set(_ev(ds, event_type="mention")["target_member_id"]) == {"U0DEMO002", "U0DEMO001"}
    reac = _ev(ds, event_type="reaction")
    assert len(reac) == 2 and reac["ts_estimated"].all()
    assert ev["ts"].min() == pd.Timestamp("2024-03-01 10:00:00.000100", tz="UTC")
    assert list(_ev(ds, event_type="leave")["channel"]) == ["dushu"]
    m = ds.members.set_index("member_id")
    assert m.loc["U0DEMO002", "role"] == "owner" and m.loc["U0DEMO003", "role"] == "staff"
    assert m.loc["B0DEMOBOT", "role"] == "bot" and m.loc["USLACKBOT", "role"] == "bot"
    assert m.loc["U0DEMO004", "joined_at_estimated"] and not m.loc["U0DEMO001", "joined_at_estimated"]
    assert m["left_at"].isna().all()  # leaving a channel is not leaving the workspace
    assert m.loc["U0DEMO001", "display_name"] == "芳芳"
    assert "email" not in ds.members.columns and m["email_hash"].notna().sum() == 2
    assert rep.not_mapped["message subtype 'channel_purpose'"] == 1
    z = tmp_path / "Demo Workspace Slack export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in (FIX / "slack").rglob("*.json"):
            zf.write(p, "export/" + p.relative_to(FIX / "slack").as_posix())
    dz, _ = convert("slack", z, community_id="demo-slack")
    pd.testing.assert_frame_equal(dz.events, ds.events)


def test_slack_malformed(tmp_path: Path) -> None:
    d = tmp_path / "ws"
    shutil.copytree(FIX / "slack", d)
    (d / "general" / "2024-03-01.json").write_text('{"type": "message"}', encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"general/2024-03-01.json: expected a JSON array of message"):
        convert("slack", d)
    (d / "channels.json").unlink()
    with pytest.raises(ImportFormatError, match="no users.json and channels.json"):
        convert("slack", d)


# --- Discord --------------------------------------------------------------------------------------


def test_discord_fixture() -> None:
    ds, rep = convert("discord", FIX / "discord")
    assert ds.communities.iloc[0]["name"] == "示例读书会"
    ev = ds.events.set_index("message_id")
    r = ev.loc["1213000000000000002"]
    reply = r[r["event_type"] == "reply"]
    assert reply["target_member_id"].item() == "800000000000000001"
    assert reply["ts"].item() == pd.Timestamp("2024-03-01 10:01:05.123", tz="UTC")
    assert set(r[r["event_type"] == "reaction"]["member_id"]) == {"800000000000000001", "800000000000000099"}
    thread = _ev(ds, channel="第一回讨论串")
    assert set(thread["thread_id"]) == {"900000000000000020"}
    assert _ev(ds, event_type="join")["member_id"].item() == "800000000000000002"
    m = ds.members.set_index("member_id")
    assert m.loc["800000000000000099", "role"] == "bot" and m.loc["800000000000000002", "display_name"] == "鲍勃"
    assert rep.not_mapped == {"system message 'ChannelPinnedMessage'": 1}


def test_discord_csv_rejected(tmp_path: Path) -> None:
    f = tmp_path / "chan.json"
    f.write_text(json.dumps({"guild": {"id": "1"}, "messages": []}), encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"chan.json: not a DiscordChatExporter JSON export"):
        convert("discord", f)


# --- Discourse ------------------------------------------------------------------------------------


def test_discourse_fixture() -> None:
    ds, rep = convert("discourse", FIX / "discourse", community_id="demo-forum")
    ev = ds.events.set_index("post_id")
    assert ev.loc["5010", "event_type"] == "post"
    assert ev.loc["5011", "target_member_id"] == "43"  # reply to the topic -> opener
    assert ev.loc["5012", "target_member_id"] == "7"  # reply_to_post_number 2
    assert ev.loc["5011", "like_count"] == 3
    assert ev.loc["5010", "text"] == "大家好，新人报到"  # kept from the page that had raw
    assert len(ds.events) == 4 and rep.not_mapped["post_type 3 (moderator action, small action or whisper)"] == 1
    m = ds.members.set_index("member_id")
    assert len(m) == 5 and m.loc["7", "role"] == "staff"
    assert m.loc["42", "joined_at"] == pd.Timestamp("2024-03-01 09:59:00", tz="UTC")


def test_discourse_wrong_shape(tmp_path: Path) -> None:
    f = tmp_path / "posts.json"
    f.write_text(json.dumps({"topic_list": {"topics": []}}), encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"posts.json: not a Discourse posts response.*topic_list"):
        convert("discourse", f)
    f.write_text(json.dumps({"latest_posts": [{"id": 1, "user_id": 2}]}), encoding="utf-8")
    with pytest.raises(ImportFormatError, match="posts.json: post 1: lacks created_at, topic_id, post_number"):
        convert("discourse", f)


# --- WeChat, QQ, WeCom ----------------------------------------------------------------------------


def test_wechat_lc044() -> None:
    ds, rep = convert("wechat", FIX / "wechat" / "lc044", owner_id="wxid_demo0002", community_id="读书会",
                      infer_replies=False)  # the export as mapped; inferred links: tests/test_replies.py
    assert ds.communities.iloc[0]["community_id"] == "读书会"
    joins = _ev(ds, event_type="join")
    assert set(joins["member_id"]) == {"wxid_demo0001", "wxid_demo0004"}
    assert (joins["ts"] == pd.Timestamp("2024-03-01 10:00:00", tz="UTC")).all()
    assert len(_ev(ds, event_type="reply")) == 1 and _ev(ds, event_type="reply")["target_member_id"].isna().all()
    assert len(_ev(ds, member_id="wxid_demo0002")) == 2  # own row without Sender took owner_id
    m = ds.members.set_index("member_id")
    assert m.loc["wxid_demo0002", "role"] == "owner" and m.loc["wxid_demo0001", "display_name"] == "芳芳"
    assert rep.not_mapped == {"system message other than an invitation (recall, pat, red packet, ...)": 1}


def test_wechat_without_owner_id_drops_and_counts() -> None:
    _, rep = convert("wechat", FIX / "wechat" / "lc044")
    assert rep.dropped == {"message without a sender id (set owner_id for the exporting account's own rows)": 1}


def test_wechat_pywxdump_gbk(tmp_path: Path) -> None:
    src = (FIX / "wechat" / "pywxdump" / "wxid_demo0002_0_4.csv").read_text(encoding="utf-8")
    f = tmp_path / "chat.csv"
    f.write_bytes(src.encode("gb18030"))
    ds, rep = convert("wechat", f)
    assert list(ds.events["ts"]) == [pd.Timestamp(t, tz="UTC") for t in
                                     ("2024-03-02 00:00", "2024-03-02 00:01", "2024-03-02 00:03")]
    assert list(ds.events["text"][:2]) == ["早上好", "早！"]
    assert rep.dropped == {"join: invited name not matched to exactly one member": 1}


def test_wechat_unknown_header(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("时间,发言人,内容\n2024-03-01,王芳,你好\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"x.csv: line 1 \(the header\): not a WeChat export CSV: "
                       r"missing column\(s\) .* \(the file has 时间, 发言人, 内容\)"):
        convert("wechat", f)


def test_qq_fixture_and_encodings(tmp_path: Path) -> None:
    ds, rep = convert("qq", FIX / "qq", infer_replies=False)  # inferred links: tests/test_replies.py
    assert ds.communities.iloc[0]["community_id"] == "qq-示例学习群"
    m = ds.members.set_index("member_id")
    assert m.loc["10000001", "role"] == "owner" and m.loc["lilei@example.com", "role"] == "staff"
    assert m.loc["10009999", "display_name"] == "小明(二班)"
    assert m.loc["10005678", "joined_at"] == pd.Timestamp("2024-03-01 10:02:00", tz="UTC")
    assert _ev(ds, member_id="10001234", event_type="message")["text"].iloc[0] == "大家好\n第二行正文"
    assert pd.Timestamp("2024-03-01 12:43:38", tz="UTC") in set(ds.events["ts"])  # 8:43:38 PM +08:00
    assert set(_ev(ds, event_type="mention")["target_member_id"]) == {"10001234", "10005678"}
    assert rep.not_mapped["@name not matched to exactly one sender"] == 1
    text = (FIX / "qq" / "示例学习群.txt").read_text(encoding="utf-8-sig")
    for enc in ("utf-16", "gb18030"):
        f = tmp_path / f"{enc}.txt"
        f.write_bytes(text.encode(enc))
        d2, _ = convert("qq", f, infer_replies=False)
        pd.testing.assert_frame_equal(d2.events, ds.events)


def test_qq_join_channel_and_inviter_where_the_line_says(tmp_path: Path) -> None:
    """QQ's join tips: an invitation names the inviter, a QR code who shared it, a plain join nothing."""
    text = (FIX / "qq" / "示例学习群.txt").read_text(encoding="utf-8-sig") + (
        "\n2024-03-02 09:00:00 系统消息(10000)\n【管理员】李雷邀请钱七、孙八加入了本群。\n"
        "\n2024-03-02 09:05:00 系统消息(10000)\n周九通过扫描王芳分享的二维码加入本群。\n"
        "\n2024-03-02 09:06:00 系统消息(10000)\n吴十通过扫描无名氏分享的二维码加入本群\n"
        "\n2024-03-02 09:10:00 钱七(10000007)\n大家好\n\n2024-03-02 09:11:00 孙八(10000008)\n你好\n"
        "\n2024-03-02 09:12:00 周九(10000009)\n在\n\n2024-03-02 09:13:00 吴十(10000010)\n嗨\n")
    f = tmp_path / "示例学习群.txt"
    f.write_text(text, encoding="utf-8")
    ds, rep = convert("qq", f, infer_replies=False)
    m = ds.members.set_index("member_id")
    assert m.loc[["10000007", "10000008"], "join_channel"].tolist() == ["invite", "invite"]
    assert m.loc[["10000007", "10000008"], "invited_by"].tolist() == ["lilei@example.com"] * 2
    assert (m.loc["10000009", "join_channel"], m.loc["10000009", "invited_by"]) == ("qr_code", "10001234")
    assert m.loc["10000010", "join_channel"] == "qr_code" and pd.isna(m.loc["10000010", "invited_by"])
    assert pd.isna(m.loc["10005678", "join_channel"])  # 赵六加入本群: how is not said
    joins = _ev(ds, event_type="join")
    assert set(joins["member_id"]) == {"10005678", "10000007", "10000008", "10000009", "10000010"}
    assert m.loc["10000007", "joined_at"] == pd.Timestamp("2024-03-02 01:00:00", tz="UTC")


def test_qq_not_an_export(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("随便写的笔记\n没有消息\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"notes.txt: no message line"):
        convert("qq", f)


def test_wecom_fixture() -> None:
    ds, rep = convert("wecom", FIX / "wecom")
    assert ds.communities.iloc[0]["community_id"] == "wecom-wrDemoRoom01"
    assert len(ds.events) == 4
    assert ds.events["ts"].iloc[0] == pd.Timestamp("2024-03-01 10:01:05.120", tz="UTC")
    m = ds.members.set_index("member_id")
    assert m.loc["wbDemoRobot01", "role"] == "bot" and m.loc["wmDemoExt0001", "role"] == "member"
    assert m.loc["lilei", "role"] == "staff" and bool(m.loc["wmDemoExt0001", "external"])
    assert rep.dropped == {"1:1 message (no roomid)": 1}
    assert rep.not_mapped == {"action 'recall'": 1, "action 'switch'": 1}


def test_wecom_encrypted_and_bad_lines(tmp_path: Path) -> None:
    f = tmp_path / "raw.json"
    f.write_text(json.dumps({"chatdata": [{"seq": 1, "msgid": "a", "encrypt_chat_msg": "xx"}]}), encoding="utf-8")
    with pytest.raises(ImportFormatError, match="raw.json: item 0 is still encrypted"):
        convert("wecom", f)
    g = tmp_path / "m.jsonl"
    g.write_text('{"msgid":"a","action":"send","from":"x","msgtime":1,"roomid":"r"}\n{"msgid": \n', encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"m.jsonl: line 2: not valid JSON"):
        convert("wecom", g)


# --- mapping --------------------------------------------------------------------------------------


def test_mapping_csv_and_excel(tmp_path: Path) -> None:
    ds, rep = convert("mapping", FIX / "mapping" / "mapping.yaml")
    assert list(ds.events["event_type"]) == ["join", "message", "reply", "purchase", "checkin"]
    assert ds.events["ts"].iloc[0] == pd.Timestamp("2024-03-01 10:00", tz="UTC")  # 18:00 Asia/Shanghai
    assert ds.events["amount"].iloc[3] == 199.0
    assert ds.communities.iloc[0]["monetization"] == "product"
    assert ds.members.set_index("member_id").loc["u003", "display_name"] == "ＨａｎＭｅｉ"
    raw = pd.read_csv(FIX / "mapping" / "群聊记录.csv", dtype=str)
    xlsx = tmp_path / "群聊记录.xlsx"
    raw.to_excel(xlsx, index=False)
    dx, _ = convert("mapping", xlsx, mapping=FIX / "mapping" / "mapping.yaml")
    pd.testing.assert_frame_equal(dx.events, ds.events)


def test_mapping_errors_write_nothing(tmp_path: Path) -> None:
    spec = (FIX / "mapping" / "mapping.yaml").read_text(encoding="utf-8")
    data = FIX / "mapping" / "群聊记录.csv"
    out = tmp_path / "out"
    bad = tmp_path / "bad.yaml"
    bad.write_text(spec.replace("time:\n", "colour: red\ntime:\n"), encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"bad.yaml: invalid mapping: colour: unknown key"):
        import_source("mapping", data, out, mapping=bad)
    bad.write_text(spec.replace("  text: 内容", "  txet: 内容"), encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"unknown canonical column\(s\) txet"):
        import_source("mapping", data, out, mapping=bad)
    bad.write_text(spec.replace("  text: 内容", "  text: 正文"), encoding="utf-8")
    with pytest.raises(ImportFormatError,
                       match=r"群聊记录.csv: line 1 \(the header\): column\(s\) named in bad.yaml not in the file: "
                             r"正文"):
        import_source("mapping", data, out, mapping=bad)
    bad.write_text(spec.replace(" 打卡: checkin,", ""), encoding="utf-8")
    msg = r"1 value\(s\) of column '类型' have no entry in values.event_type: 打卡"
    with pytest.raises(ImportFormatError, match=msg):
        import_source("mapping", data, out, mapping=bad)
    bad.write_text(spec.replace(" 打卡: checkin,", "") + "unknown_values: drop\n", encoding="utf-8")
    rep = import_source("mapping", data, out, mapping=bad)
    assert rep.total_dropped == 1 and rep.rows_mapped["events"] == 4
    shutil.rmtree(out)
    bad.write_text(spec.replace('format: "%Y/%m/%d %H:%M"', 'format: "%Y-%m-%d"'), encoding="utf-8")
    with pytest.raises(ImportFormatError, match="row 2, field .时间.: unparseable or out-of-range time"):
        import_source("mapping", data, out, mapping=bad)
    with pytest.raises(UsageError, match="needs the option mapping"):
        import_source("mapping", data, out)
    assert not out.exists()


# --- every fixture through import_source and load_dataset ------------------------------------------


@pytest.mark.parametrize(("fmt", "src", "opts"), [
    ("telegram", "telegram", {}),
    ("slack", "slack", {}),
    ("discord", "discord", {}),
    ("discourse", "discourse", {}),
    ("wechat", "wechat/lc044", {"owner_id": "wxid_demo0002"}),
    ("qq", "qq", {}),
    ("wecom", "wecom", {}),
    ("mapping", "mapping/mapping.yaml", {}),
    ("stackexchange_xml", "stackexchange_xml", {}),
])
def test_fixture_roundtrip(tmp_path: Path, fmt: str, src: str, opts: dict) -> None:
    rep = import_source(fmt, FIX / src, tmp_path / "out", **opts)
    ds = load_dataset(tmp_path / "out", tz="UTC")
    assert len(ds.events) == rep.rows_mapped["events"] > 0
    # every event says its platform: the community's, for an export of one platform (DOMAIN.md §4b)
    expected = {"telegram": "telegram", "slack": "slack", "discord": "discord", "discourse": "discourse",
                "wechat": "wechat", "qq": "qq", "wecom": "wecom", "mapping": "wechat",
                "stackexchange_xml": "stackexchange"}[fmt]
    assert set(ds.communities["platform"]) == {expected}
    assert ds.events["platform"].notna().all() and set(ds.events["platform"]) == {expected}
    assert len(ds.members) == rep.rows_mapped["members"]
    saved = json.loads((tmp_path / "out" / "import_report.json").read_text(encoding="utf-8"))
    assert saved["format"] == fmt and saved["rows_mapped"] == rep.rows_mapped


def test_telegram_full_export(tmp_path: Path) -> None:
    chat = json.loads((FIX / "telegram" / "result.json").read_text(encoding="utf-8"))
    other = {**chat, "id": 42, "name": "第二个群"}
    personal = {**chat, "id": 7, "type": "personal_chat"}
    f = tmp_path / "result.json"
    f.write_text(json.dumps({"about": "", "chats": {"about": "", "list": [chat, other, personal]},
                             "left_chats": {"about": "", "list": []}}, ensure_ascii=False), encoding="utf-8")
    ds, rep = convert("telegram", f)
    assert sorted(ds.communities["community_id"]) == ["telegram-1987654321", "telegram-42"]
    assert rep.not_mapped["chat that is not a group or channel (personal, bot, saved)"] == 1
    assert len(ds.events) == 2 * len(convert("telegram", FIX / "telegram")[0].events)
    with pytest.raises(UsageError, match="community_id applies to a source with one community; this one has 2 chats"):
        convert("telegram", f, community_id="x")


@pytest.mark.parametrize(("fmt", "name", "text", "platform"), [
    ("snap", "edges.txt", "1 2 1082008492\n2 1 1082008500\n", "other"),
    ("irc", "2024-03-01.txt", "[10:00] <alice> hello\n[10:01] <bob> alice: hi\n", "other"),
])
def test_every_importer_fills_the_event_platform(tmp_path: Path, fmt: str, name: str, text: str,
                                                 platform: str) -> None:
    """The importers without a fixture folder: a two-line source each."""
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    ds, _ = convert(fmt, f)
    assert set(ds.communities["platform"]) == {platform}
    assert ds.events["platform"].notna().all() and set(ds.events["platform"]) == {platform}
