"""The file formats of the synthetic data sets: byte-stable CSV and Parquet (the same seed, the same bytes)."""


from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from commlab.data import schema as S

__all__ = ["events_table", "write_csv"]


def events_table(events: pd.DataFrame) -> pa.Table:
    """Events as an Arrow table with a fixed schema (no pandas metadata, so bytes are stable)."""
    fields = []
    arrays = []
    for col in S.EVENTS.names:
        if col not in events:
            continue
        if col == "ts":
            arr = pa.array(events[col].dt.tz_convert("UTC")).cast(pa.timestamp("ms", tz="UTC"))
        elif col == "amount":
            arr = pa.array(events[col].to_numpy(dtype="float64", na_value=np.nan), type=pa.float64(),
                           from_pandas=True)
        else:
            arr = pa.array(events[col].astype("string"), from_pandas=True).cast(pa.string())
        fields.append(pa.field(col, arr.type))
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV with ISO times in UTC (``2024-01-01T08:00:00+00:00``)."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            txt = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            out[col] = txt.where(out[col].notna(), "")
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
