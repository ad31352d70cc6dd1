"""Large heavy-tailed benchmark data, written chunk by chunk with bounded memory (``benchmarks/run.py``)."""


from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from commlab.data import schema as S
from commlab.data.draws import DAY_S, UTC_OFFSET_S, hours_of_day, start_seconds
from commlab.data.schema import Col
from commlab.errors import InvalidArgument

__all__ = ["LARGE_MIX", "LARGE_SIGMA", "generate_large"]


#: Event-type mix of the large benchmark data.
LARGE_MIX: dict[str, float] = {"message": 0.42, "reply": 0.25, "reaction": 0.14, "post": 0.08, "mention": 0.05,
                               "checkin": 0.03, "event_attend": 0.015, "purchase": 0.015}
#: Lognormal sigma of member activity weights (top 1% of members make about a third of events).
LARGE_SIGMA = 1.9


def _large_communities(n_members: int, start_s: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Communities of the large data set and their sizes (Zipf-like, summing to ``n_members``)."""
    n_comm = int(np.clip(n_members // 5000, 1, 200))
    raw = np.arange(1, n_comm + 1, dtype=float) ** -0.8
    sizes = np.maximum(np.floor(raw / raw.sum() * n_members).astype(np.int64), 1)
    sizes[0] += n_members - sizes.sum()
    ids = [f"L{i:04d}" for i in range(1, n_comm + 1)]
    pick = lambda vocab: [vocab.codes[i] for i in rng.integers(0, len(vocab.codes), n_comm)]  # noqa: E731
    created = start_s - UTC_OFFSET_S - (30 + rng.integers(0, 300, n_comm)) * DAY_S
    frame = pd.DataFrame({
        Col.community_id: pd.array(ids, dtype="string"),
        "name": pd.array([f"合成社群{i:04d}" for i in range(1, n_comm + 1)], dtype="string"),
        "theme": pd.array([S.THEME.codes[i % len(S.THEME.codes)] for i in range(n_comm)], dtype="string"),
        "business_model": pd.array(pick(S.BUSINESS_MODEL), dtype="string"),
        "lifecycle": pd.array(pick(S.LIFECYCLE), dtype="string"),
        "platform": pd.array(pick(S.PLATFORM), dtype="string"),
        "monetization": pd.array(pick(S.MONETIZATION), dtype="string"),
        "created_at": pd.to_datetime(created, unit="s", utc=True).astype("datetime64[ns, UTC]"),
        "economy": pd.array(pick(S.ECONOMY), dtype="string"),
        "source": pd.array(["synthetic benchmark (commlab.data.generate_large), CC0"] * n_comm, dtype="string"),
    })
    return frame, sizes


def generate_large(out_dir: str | Path, *, n_members: int, n_events: int, seed: int,
                   chunk_events: int = 5_000_000, start: str = "2024-01-01", days: int = 182) -> dict[str, Path]:
    """Write a large heavy-tailed benchmark data set as Parquet, in chunks.

    Member activity weights are lognormal (sigma 1.9), so the top 1% of
    members produce about a third of the events. Events are drawn chunk by
    chunk (vectorised, one Parquet row group per chunk), so memory stays
    bounded by ``chunk_events`` plus the members table.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``communities.parquet``, ``members.parquet`` and ``events.parquet``.
    n_members : int
        Members in total (spread over ``n_members // 5000`` communities, 1 to 200).
    n_events : int
        Events in total.
    seed : int
        Seed of ``numpy.random.default_rng``.
    chunk_events : int, default 5_000_000
        Events generated and written at a time.
    start : str, default "2024-01-01"
        First day of the window (Asia/Shanghai).
    days : int, default 182
        Length of the window.

    Returns
    -------
    dict of str to Path
        Table name to the file written.

    Raises
    ------
    ValueError
        If ``n_members < 2``, ``n_events < 0`` or ``chunk_events < 1``.
    """
    if n_members < 2 or n_events < 0 or chunk_events < 1:
        raise InvalidArgument("need n_members >= 2, n_events >= 0 and chunk_events >= 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    start_s, _ = start_seconds(start)
    t0 = start_s - UTC_OFFSET_S
    communities, sizes = _large_communities(n_members, start_s, rng)
    comm_of = np.repeat(np.arange(len(sizes)), sizes)
    comm_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    created = (communities["created_at"].astype("int64") // 10**9).to_numpy()
    joined = created[comm_of] + (rng.random(n_members) * (t0 + days * DAY_S / 2 - created[comm_of])).astype(np.int64)
    pos_in_comm = np.arange(n_members) - comm_start[comm_of]
    joined[pos_in_comm == 0] = created  # the owner joins at creation
    role = np.where(pos_in_comm == 0, "owner", np.where(pos_in_comm <= sizes[comm_of] // 500, "staff", "member"))
    member_ids = pa.array([f"u{i:07d}" for i in range(n_members)], type=pa.string())
    comm_ids = pa.array(communities[Col.community_id].astype(object).tolist(), type=pa.string())
    paths = {"communities": out / "communities.parquet", "members": out / "members.parquet",
             "events": out / "events.parquet"}
    pq.write_table(pa.Table.from_pandas(communities, preserve_index=False), paths["communities"])
    pq.write_table(pa.table({
        Col.community_id: comm_ids.take(pa.array(comm_of)),
        Col.member_id: member_ids,
        "joined_at": pa.array(joined * 1000, type=pa.timestamp("ms", tz="UTC")),
        "left_at": pa.nulls(n_members, type=pa.timestamp("ms", tz="UTC")),
        "role": pa.array(role, type=pa.string()),
    }), paths["members"])
    cum_w = np.cumsum(rng.lognormal(0.0, LARGE_SIGMA, n_members))
    with pq.ParquetWriter(paths["events"], _LARGE_EVENT_SCHEMA, compression="zstd") as writer:
        done = 0
        while done < n_events:
            n = min(chunk_events, n_events - done)
            writer.write_table(_large_chunk(n, cum_w, joined, comm_of, comm_start, sizes, t0, days, member_ids,
                                            comm_ids, rng))
            done += n
    return paths


_LARGE_EVENT_SCHEMA = pa.schema([
    (Col.community_id, pa.string()), (Col.member_id, pa.string()), ("ts", pa.timestamp("ms", tz="UTC")),
    ("event_type", pa.string()), ("target_member_id", pa.string()), ("amount", pa.float64()),
])


def _large_chunk(n: int, cum_w: np.ndarray, joined: np.ndarray, comm_of: np.ndarray, comm_start: np.ndarray,
                 sizes: np.ndarray, t0: int, days: int, member_ids: pa.Array, comm_ids: pa.Array,
                 rng: np.random.Generator) -> pa.Table:
    """One chunk of large benchmark events (vectorised)."""
    who = np.minimum(np.searchsorted(cum_w, rng.random(n) * cum_w[-1], side="right"), len(cum_w) - 1)
    lo = np.maximum(joined[who], t0)
    day = (lo - t0) // DAY_S + (rng.random(n) * ((t0 + days * DAY_S - lo) / DAY_S)).astype(np.int64)
    ts = t0 + day * DAY_S + (hours_of_day(n, rng) * 3600).astype(np.int64)
    ts = np.clip(ts, lo, t0 + days * DAY_S - 1)
    codes = list(LARGE_MIX)
    p = np.array(list(LARGE_MIX.values()))
    kind = rng.choice(len(codes), size=n, p=p / p.sum())
    c = comm_of[who]
    target = comm_start[c] + (rng.random(n) * sizes[c]).astype(np.int64)
    target = np.where(target == who, comm_start[c] + (target - comm_start[c] + 1) % sizes[c], target)
    interaction = np.isin(kind, [codes.index(x) for x in S.INTERACTION_EVENTS]) & (sizes[c] > 1)
    purchase = kind == codes.index("purchase")
    amount = np.where(purchase, np.round(np.exp(np.log(99.0) + 0.6 * rng.standard_normal(n)), 2), np.nan)
    return pa.Table.from_arrays([
        comm_ids.take(pa.array(c)),
        member_ids.take(pa.array(who)),
        pa.array(ts * 1000, type=pa.timestamp("ms", tz="UTC")),
        pa.array(codes, type=pa.string()).take(pa.array(kind)),
        member_ids.take(pa.array(target, mask=~interaction)),
        pa.array(amount, type=pa.float64(), from_pandas=True),
    ], schema=_LARGE_EVENT_SCHEMA)
