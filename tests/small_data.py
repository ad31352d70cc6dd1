"""The small data set of the fast lane: a few seeded synthetic communities, thousands of events.

Made by the project's own seeded generator (:func:`commlab.data.generate.generate`) at a small
scale, keeping :data:`COMMUNITIES` (one per theme that the hypotheses and rules compare), and
written as the canonical files (``communities.csv``, ``members.csv``, ``events.parquet``) by the
generator's writers, so a test reads it with ``load_dataset`` exactly as it reads the samples.
Generating and writing it costs 0.1 s of CPU (0.5 s wall on the busy 2-core machine, 2026-12) once
per test process, against nothing for files committed under tests/fixtures; loading is the same
either way (0.3 s). Half a second per worker buys a fixture that always follows the generator and
the schema, with nothing binary committed (16,594 events, 395 members, 192 KB on disk).
"""

from __future__ import annotations

from pathlib import Path

#: Seed of the small set (the samples' seed: the same planted structure, fewer members).
SEED = 20240601
#: Member-count multiplier (every community keeps at least 30 members).
SCALE = 0.05
#: Both economies, both lifecycle stages, four platforms: interest (a mature WeChat group, a start-up QQ group),
#: brand (fan economy, e-commerce), knowledge (service: courses, check-ins), consumption (group buying).
COMMUNITIES: tuple[str, ...] = ("c01", "c02", "c03", "c04", "c07")
#: The natural analysis instant of the generated window (2024-07-01 00:00 Asia/Shanghai).
AS_OF = "2024-06-30T16:00:00Z"


def write_small_data(out_dir: str | Path) -> Path:
    """Write the small data set into ``out_dir`` (created) and return it.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write ``communities.csv``, ``members.csv`` and ``events.parquet`` into.

    Returns
    -------
    Path
        ``out_dir``.
    """
    import pyarrow.parquet as pq

    from commlab.data.generate import generate
    from commlab.data.sample_files import events_table, write_csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = generate(SEED, scale=SCALE)
    keep = list(COMMUNITIES)
    write_csv(data.communities[data.communities["community_id"].isin(keep)], out / "communities.csv")
    write_csv(data.members[data.members["community_id"].isin(keep)], out / "members.csv")
    events = data.events[data.events["community_id"].isin(keep)].reset_index(drop=True)
    pq.write_table(events_table(events), out / "events.parquet", compression="zstd")
    return out
