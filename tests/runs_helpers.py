"""Shared helpers for the playbook, runner and CLI tests: a tiny data folder and playbooks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

NOTEBOOKS = Path(__file__).parent / "fixtures" / "notebooks"

COMMUNITIES = """community_id,name,theme,business_model,lifecycle,platform,monetization,created_at
c1,读书会,knowledge,service,startup,wechat,membership,2024-01-01 10:00:00
c2,跑步群,interest,creator,mature,qq,none,2023-05-01 09:00:00
"""
MEMBERS = """community_id,member_id,joined_at,role
c1,m1,2024-01-01 10:00:00,owner
c1,m2,2024-01-02 10:00:00,member
c2,m3,2023-05-01 09:00:00,owner
c2,m4,2023-05-03 09:00:00,member
"""
EVENTS = """community_id,member_id,ts,event_type,amount
c1,m1,2024-06-01 10:00:00,post,
c1,m2,2024-06-01 11:00:00,message,
c2,m3,2024-06-10 09:00:00,message,
c2,m4,2024-06-11 09:00:00,message,
c2,m4,2024-06-12 09:00:00,purchase,19.9
"""


def make_data(folder: Path, *, bad: bool = False) -> Path:
    """Write communities/members/events CSVs into ``folder``; ``bad`` plants an unknown event type."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "communities.csv").write_text(COMMUNITIES, encoding="utf-8")
    (folder / "members.csv").write_text(MEMBERS, encoding="utf-8")
    events = EVENTS.replace("message,\nc2,m4,2024-06-11", "teleport,\nc2,m4,2024-06-11") if bad else EVENTS
    (folder / "events.csv").write_text(events, encoding="utf-8")
    return folder


def make_project(root: Path) -> Path:
    """A project folder with ``data/``, ``notebooks/`` (copies of the fixtures) and ``playbooks/``."""
    make_data(root / "data")
    shutil.copytree(NOTEBOOKS, root / "notebooks", dirs_exist_ok=True)
    (root / "playbooks").mkdir(exist_ok=True)
    return root


def playbook_dict(steps: list[dict[str, Any]] | None = None, **top: Any) -> dict[str, Any]:
    """A valid playbook (relative paths, as written in ``<root>/playbooks/``)."""
    pb: dict[str, Any] = {
        "name": "demo",
        "title": {"zh": "测试演示", "en": "Test demo"},
        "description": "fixture playbook",
        "data": "../data",
        "parameters": {"as_of": "2024-06-30", "lang": "zh", "communities": []},
        "steps": steps if steps is not None else [
            {"notebook": "../notebooks/overview.ipynb", "parameters": {"min_size": 5}},
            {"notebook": "../notebooks/followup.ipynb"},
        ],
        "report": {"lang": "zh", "client": "某客户"},
    }
    pb.update(top)
    return pb


def write_playbook(root: Path, filename: str = "demo.yaml", **kwargs: Any) -> Path:
    """Write :func:`playbook_dict` (``kwargs`` passed on) to ``root/playbooks/name``."""
    path = root / "playbooks" / filename
    path.write_text(yaml.safe_dump(playbook_dict(**kwargs), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


ONE_STEP = [{"notebook": "../notebooks/overview.ipynb"}]
