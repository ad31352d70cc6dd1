"""How members joined (DOMAIN.md §4b, recruiting discipline): the WeChat importer reads it from system messages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from commlab.analysis.compute import compute_metrics
from commlab.importers import convert

HEADER = "localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender"


def _row(i: int, typ: int, ts: int, text: str, nick: str = "", sender: str = "") -> str:
    return f'{i},7,{typ},0,0,{ts},2,"{text}",,,{nick},{sender}'


def test_wechat_invitations_and_qr_codes_give_join_channel_and_inviter(tmp_path: Path) -> None:
    t0 = 1_709_287_265  # 2024-03-01 10:01 UTC
    lines = [
        HEADER,
        _row(1, 1, t0, "大家好", "阿强", "wxid_a"),
        _row(2, 10000, t0 + 60, '""阿强""邀请""小美、老李""加入了群聊'),
        _row(3, 10000, t0 + 120, '""老王""通过扫描""阿强""分享的二维码加入群聊'),
        _row(4, 10000, t0 + 180, '""路人""通过扫描二维码加入群聊'),             # never spoke: no member to match
        _row(5, 10000, t0 + 240, '""你""邀请""小张""加入了群聊'),                 # the exporting account invites
        _row(6, 1, t0 + 300, "谢谢邀请", "小美", "wxid_b"),
        _row(7, 1, t0 + 360, "来了", "老王", "wxid_c"),
        _row(8, 1, t0 + 420, "你好", "老李", "wxid_d"),
        _row(9, 1, t0 + 480, "我也来了", "小张", "wxid_e"),
    ]
    f = tmp_path / "骑行群_utf8.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    ds, report = convert("wechat", f, infer_replies=False, owner_id="wxid_owner")
    m = ds.members.set_index("member_id")
    assert m.loc["wxid_b", "join_channel"] == "invite" and m.loc["wxid_b", "invited_by"] == "wxid_a"
    assert m.loc["wxid_d", "join_channel"] == "invite" and m.loc["wxid_d", "invited_by"] == "wxid_a"
    assert m.loc["wxid_c", "join_channel"] == "qr_code" and m.loc["wxid_c", "invited_by"] == "wxid_a"
    assert m.loc["wxid_e", "join_channel"] == "invite" and m.loc["wxid_e", "invited_by"] == "wxid_owner"
    assert pd.isna(m.loc["wxid_a", "join_channel"])  # joined before the export: unknown, not guessed
    joins = ds.events[ds.events["event_type"] == "join"]
    assert sorted(joins["member_id"]) == ["wxid_b", "wxid_c", "wxid_d", "wxid_e"]
    assert report.dropped["join: invited name not matched to exactly one member"] == 1  # 路人
    # the recruiting measures read the field: fewer than 10 members per channel leave them undefined
    got = compute_metrics(ds, as_of="2024-05-01", window=None, metrics=["zombie_share_invite"])
    assert got["value"].isna().all()


def test_wechat_without_invitations_has_no_join_channel_column(tmp_path: Path) -> None:
    f = tmp_path / "g_utf8.csv"
    f.write_text("\n".join([HEADER, _row(1, 1, 1_709_287_265, "hi", "阿强", "wxid_a")]) + "\n", encoding="utf-8-sig")
    ds, _ = convert("wechat", f, infer_replies=False)
    assert "join_channel" not in ds.members.columns or ds.members["join_channel"].isna().all()
