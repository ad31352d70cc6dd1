"""Random draws and the time model shared by the synthetic generators (samples, fates, benchmark).

Times are drawn as float days since the window start in local time (Asia/Shanghai, no daylight saving
time) with a daily rhythm (:data:`HOUR_WEIGHTS`), then stored in UTC (:func:`days_to_utc`).
"""


from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["LOCAL_TZ", "UTC_OFFSET_S", "DAY_S", "HOUR_WEIGHTS", "CHECKIN_HOUR_WEIGHTS", "hours_of_day", "at_day",
           "clip_to_window", "weighted_pick", "display_names", "days_to_utc", "start_seconds"]


#: Zone of the daily rhythm (and of ``start``).
LOCAL_TZ = "Asia/Shanghai"
UTC_OFFSET_S = 8 * 3600  # Asia/Shanghai has no daylight saving time
DAY_S = 86_400

#: Relative weight of each local hour of the day (evening peak at 20-22h).
HOUR_WEIGHTS = np.array(
    [0.6, 0.3, 0.15, 0.1, 0.1, 0.2, 0.5, 1.2, 2.0, 2.4, 2.2, 2.0,
     2.6, 2.2, 1.8, 1.8, 1.9, 2.0, 2.2, 2.8, 3.6, 4.2, 3.8, 2.0]
)
#: Local hours of check-ins (morning and late evening).
CHECKIN_HOUR_WEIGHTS = np.array([0.0] * 6 + [2.0, 3.0, 2.0] + [0.3] * 12 + [1.5, 2.0, 0.5])


def hours_of_day(n: int, rng: np.random.Generator, weights: np.ndarray = HOUR_WEIGHTS) -> np.ndarray:
    """Fractional local hours (0-24) with the given hourly profile."""
    h = rng.choice(24, size=n, p=weights / weights.sum())
    return h + rng.random(n)


def at_day(days: np.ndarray, rng: np.random.Generator, weights: np.ndarray = HOUR_WEIGHTS) -> np.ndarray:
    """Times (float days) on the given integer days, with a daily rhythm."""
    return days + hours_of_day(len(days), rng, weights) / 24.0


def clip_to_window(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move times before ``lo`` into ``[lo, min(lo + 0.2, hi))`` and times at/after ``hi`` just before it."""
    out = t.copy()
    early = out < lo
    span = np.maximum(np.minimum(lo + 0.2, hi) - lo, 1e-4)
    out[early] = lo[early] + rng.random(int(early.sum())) * span[early]
    late = out >= hi
    out[late] = hi[late] - rng.random(int(late.sum())) * 1e-3 - 1e-4
    return out


def weighted_pick(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices drawn with probability proportional to ``weights``."""
    cw = np.cumsum(weights)
    return np.minimum(np.searchsorted(cw, rng.random(n) * cw[-1], side="right"), len(weights) - 1)


def display_names(n: int, rng: np.random.Generator) -> list[str]:
    """Made-up Chinese nicknames (PII in real data; never shown in reports)."""
    surnames = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董")
    given = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉晨宇欣怡悦然佳琪子涵浩轩")
    prefixes = ["小", "阿", "老", "大"]
    latin = ["Coco", "Leo", "Mia", "Kevin", "Amy", "Jack", "Luna", "Tony", "Vivi", "Sam"]
    style = rng.integers(0, 4, n)
    s = rng.integers(0, len(surnames), n)
    g1 = rng.integers(0, len(given), n)
    g2 = rng.integers(0, len(given), n)
    p = rng.integers(0, len(prefixes), n)
    la = rng.integers(0, len(latin), n)
    out = []
    for i in range(n):
        if style[i] == 0:
            out.append(surnames[s[i]] + given[g1[i]] + given[g2[i]])
        elif style[i] == 1:
            out.append(surnames[s[i]] + given[g1[i]])
        elif style[i] == 2:
            out.append(prefixes[p[i]] + given[g1[i]])
        else:
            out.append(f"{latin[la[i]]}_{surnames[s[i]]}")
    return out


def days_to_utc(t_days: np.ndarray, start_s: int) -> pd.DatetimeIndex:
    """Float local days since the window start -> UTC timestamps (whole seconds, ns resolution)."""
    secs = start_s - UTC_OFFSET_S + np.floor(t_days * DAY_S).astype(np.int64)
    return pd.to_datetime(secs, unit="s", utc=True).as_unit("ns")


def start_seconds(start: str) -> tuple[int, int]:
    """Local midnight of ``start`` as naive epoch seconds, and its weekday (Monday = 0)."""
    day = np.datetime64(start, "D")
    days_since_epoch = int(day.astype(np.int64))
    return days_since_epoch * DAY_S, (days_since_epoch + 3) % 7
