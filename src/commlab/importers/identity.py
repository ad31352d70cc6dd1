"""Identity across platforms: propose candidate merges, let a person decide, apply only accepted ones.

Nothing merges silently. :func:`candidate_merges` lists pairs of member rows
(in different communities, or the same one) that may be the same person,
with the reason; :func:`write_merge_file` writes them to a CSV with an empty
``accept`` column for a person to fill in (``yes``/``y``/``1``/``true``/``是``
to accept; ``no``/empty to reject); :func:`apply_merges` applies only the
accepted rows.

Reasons, strongest first:

``email_hash``
    the same e-mail (hashed: members columns ``email_hash``, or ``email``
    which is lower-cased, stripped and hashed here with the pseudonym key
    (:func:`commlab.importers.emails.email_hash`), never written). Hashes made with
    different keys never match.
``handle``
    the same platform handle/username (members columns ``handle`` or
    ``username``, compared after NFKC, case folding, without a leading ``@``).
``display_name``
    the same ``display_name`` after NFKC normalisation (full-width letters and
    digits become half-width), case folding and removing white space. Weak:
    common names collide, so review these carefully.

Applying
--------
* accepted pairs in **different** communities get one shared ``person_id``
  (new column of ``members``; connected pairs form one person). Member rows
  stay per community, as the schema wants.
* accepted pairs in the **same** community are one member under two ids: the
  second id is replaced by the first (the one that joined first) in
  ``members`` (rows collapsed: earliest ``joined_at``) and in ``events``
  (``member_id`` and ``target_member_id``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path

import pandas as pd

from commlab.data.load import Dataset
from commlab.data.schema import Col
from commlab.errors import ImportFormatError
from commlab.importers.emails import email_hash

__all__ = ["normalise_name", "candidate_merges", "write_merge_file", "read_merge_file", "apply_merges",
           "MERGE_COLUMNS", "ACCEPT_YES", "ACCEPT_NO"]

MERGE_COLUMNS = ("left_community_id", "left_member_id", "right_community_id", "right_member_id", "reason", "key",
                 "left_display_name", "right_display_name", "accept")
ACCEPT_YES = ("yes", "y", "1", "true", "x", "是", "接受", "合并")
ACCEPT_NO = ("", "no", "n", "0", "false", "否", "不", "拒绝")
_MAX_GROUP = 50  # a key shared by more rows than this is too common to propose (e.g. "user")


def normalise_name(name: object) -> str | None:
    """NFKC, case-folded, without white space (``"Ｗａｎｇ Fang"`` -> ``"wangfang"``); ``None`` if empty."""
    if name is None or (isinstance(name, float) and pd.isna(name)) or name is pd.NA:
        return None
    s = "".join(unicodedata.normalize("NFKC", str(name)).casefold().split())
    return s or None


def _combined(datasets: Dataset | Iterable[Dataset]) -> pd.DataFrame:
    items = [datasets] if isinstance(datasets, Dataset) else list(datasets)
    if not items:
        return pd.DataFrame(columns=[Col.community_id, Col.member_id])
    return pd.concat([d.members for d in items], ignore_index=True)


def candidate_merges(datasets: Dataset | Iterable[Dataset], *,
                     pseudonym_key: str | bytes | None = None) -> pd.DataFrame:
    """Candidate pairs of member rows that may be the same person.

    Parameters
    ----------
    datasets : Dataset or iterable of Dataset
        One dataset (several communities) or several (e.g. one per platform).
    pseudonym_key : str or bytes, optional
        Key to hash a plain ``email`` column with (:func:`~commlab.importers.emails.email_hash`): the
        one the ``email_hash`` columns of other imports were made with, to match them.

    Returns
    -------
    DataFrame
        Columns :data:`MERGE_COLUMNS`; ``accept`` is empty. One row per pair and
        reason (strongest reason only when several apply), sorted by reason.
        Keys shared by more than 50 rows are skipped as too common.
    """
    m = _combined(datasets)
    keys: dict[str, pd.Series] = {}
    if "email_hash" in m.columns:
        keys["email_hash"] = m["email_hash"].astype("string").str.strip().str.lower()
    elif "email" in m.columns:
        keys["email_hash"] = m["email"].map(lambda e: email_hash(e, pseudonym_key)).astype("string")
    for col in ("handle", "username"):
        if col in m.columns:
            keys["handle"] = m[col].map(lambda h: normalise_name(str(h).lstrip("@")) if pd.notna(h) else None)
            break
    if "display_name" in m.columns:
        keys["display_name"] = m["display_name"].map(normalise_name)
    seen: set[tuple] = set()
    rows = []
    for reason, key in keys.items():
        frame = pd.DataFrame({"i": m.index, "key": key}).dropna()
        for k, grp in frame.groupby("key", sort=True):
            if len(grp) < 2 or len(grp) > _MAX_GROUP:
                continue
            for a, b in combinations(grp["i"], 2):
                ra, rb = m.loc[a], m.loc[b]
                pair = tuple(sorted([(ra[Col.community_id], ra[Col.member_id]),
                                     (rb[Col.community_id], rb[Col.member_id])]))
                if pair[0] == pair[1] or pair in seen:
                    continue
                seen.add(pair)
                (lc, lm), (rc, rm) = pair
                name = lambda c, i: m.loc[(m[Col.community_id] == c) & (m[Col.member_id] == i)].get(  # noqa: E731
                    "display_name", pd.Series([None])).iloc[0] if "display_name" in m.columns else None
                rows.append({"left_community_id": lc, "left_member_id": lm, "right_community_id": rc,
                             "right_member_id": rm, "reason": reason,
                             "key": k if reason != "email_hash" else str(k)[:12] + "…",
                             "left_display_name": name(lc, lm), "right_display_name": name(rc, rm), "accept": ""})
    return pd.DataFrame(rows, columns=list(MERGE_COLUMNS)).astype("string").fillna({"accept": ""})


def write_merge_file(candidates: pd.DataFrame, path: str | Path) -> Path:
    """Write candidates to a UTF-8 (with BOM, for Excel) CSV for review; ``accept`` is left empty."""
    p = Path(path)
    out = candidates.copy()
    out["accept"] = ""
    out.to_csv(p, index=False, encoding="utf-8-sig")
    return p


def read_merge_file(path: str | Path) -> pd.DataFrame:
    """Read a reviewed merge file; return only the accepted rows.

    Raises
    ------
    ImportFormatError
        Missing columns, or an ``accept`` value that is neither yes nor no
        (names the row), so a typo never merges or silently skips.
    """
    p = Path(path)
    try:
        f = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:  # noqa: BLE001
        raise ImportFormatError(p, f"unreadable merge file ({exc})") from exc
    missing = [c for c in ("left_community_id", "left_member_id", "right_community_id", "right_member_id", "accept")
               if c not in f.columns]
    if missing:
        raise ImportFormatError(p, f"not a merge file: missing column(s) {', '.join(missing)}")
    acc = f["accept"].str.strip().str.lower()
    bad = ~acc.isin(ACCEPT_YES) & ~acc.isin(ACCEPT_NO)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise ImportFormatError(p, f"row {i + 2}: accept is {f['accept'].iloc[i]!r}",
                                f"write one of {', '.join(ACCEPT_YES)} to merge, or leave it empty / 'no'")
    return f[acc.isin(ACCEPT_YES)].reset_index(drop=True)


def apply_merges(dataset: Dataset, merge_file: str | Path) -> Dataset:
    """Apply the accepted rows of ``merge_file`` to ``dataset`` (a new Dataset; the input is not changed).

    Returns
    -------
    Dataset
        ``members`` gains ``person_id`` (shared across communities by accepted
        pairs; otherwise ``<community_id>/<member_id>``); same-community pairs
        are collapsed into one member id.

    Raises
    ------
    ImportFormatError
        Bad merge file, or an accepted row naming a member not in ``dataset``.
    """
    acc = read_merge_file(merge_file)
    members = dataset.members.copy()
    events = dataset.events.copy()
    keyset = set(zip(members[Col.community_id], members[Col.member_id], strict=True))
    for i, r in acc.iterrows():
        for side in ("left", "right"):
            k = (r[f"{side}_community_id"], r[f"{side}_member_id"])
            if k not in keyset:
                raise ImportFormatError(merge_file, f"accepted row {i + 2}: member {k[1]!r} of community {k[0]!r} "
                                        "is not in the dataset")
    # same community: rename the later-joined id to the earlier one
    joined = dict(zip(zip(members[Col.community_id], members[Col.member_id], strict=True), members["joined_at"],
                      strict=True))
    rename: dict[tuple[str, str], str] = {}
    for _, r in acc[acc["left_community_id"] == acc["right_community_id"]].iterrows():
        c = r["left_community_id"]
        a, b = sorted([r["left_member_id"], r["right_member_id"]], key=lambda x: (joined[(c, x)], x))
        while (c, a) in rename:
            a = rename[(c, a)]
        if a != b:
            rename[(c, b)] = a

    def _resolve(c: str, x: object) -> object:
        seen = set()
        while isinstance(x, str) and (c, x) in rename and x not in seen:
            seen.add(x)
            x = rename[(c, x)]
        return x

    if rename:
        for col in (Col.member_id, "target_member_id"):
            if col in events.columns:
                events[col] = pd.Series(
                    [_resolve(c, x) if pd.notna(x) else x for c, x in zip(events[Col.community_id], events[col],
                                                                          strict=True)],
                    index=events.index, dtype="string")
        members[Col.member_id] = pd.Series(
            [_resolve(c, x) for c, x in zip(members[Col.community_id], members[Col.member_id], strict=True)],
            index=members.index, dtype="string")
        members = (members.sort_values("joined_at", kind="stable")
                   .drop_duplicates([Col.community_id, Col.member_id], keep="first")
                   .sort_index().reset_index(drop=True))
    # person ids: union-find over accepted cross-community pairs
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(k: tuple[str, str]) -> tuple[str, str]:
        while parent.get(k, k) != k:
            k = parent[k]
        return k

    for _, r in acc[acc["left_community_id"] != acc["right_community_id"]].iterrows():
        a = (r["left_community_id"], _resolve(r["left_community_id"], r["left_member_id"]))
        b = (r["right_community_id"], _resolve(r["right_community_id"], r["right_member_id"]))
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members["person_id"] = pd.Series(
        ["/".join(find((c, m))) for c, m in zip(members[Col.community_id], members[Col.member_id], strict=True)],
        index=members.index, dtype="string")
    return Dataset(dataset.communities.copy(), members, events, dict(dataset.files), dict(dataset.sha256),
                   dict(dataset.encodings), dataset.tz)
