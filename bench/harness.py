"""What every row shares: interleaved repeats, medians, percentiles, the machine, the table."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Where ``make bench`` writes every figure (ignored by git).
RESULTS_PATH = Path(__file__).with_name("results.json")


@dataclass
class Figure:
    """One line of the table: our median, the anchor's, their ratio and the goal it is held to.

    ``goal`` is ``(op, limit)`` on the ratio (``("<=", 1.3)``), on our value (``("value<", 0.5)``),
    or on an exact count (``("==", 1)``); None means "reported, not judged".
    """

    row: str
    name: str
    unit: str
    ours: float | None
    anchor: float | None = None
    anchor_name: str | None = None
    goal: tuple[str, float] | None = None
    #: Which way is better, so a ratio reads the same for times (lower) and rates (higher).
    better: str = "lower"
    samples: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """ours / anchor (for a rate, too: 0.9 means 90 % of the anchor's throughput).

        With interleaved samples, the median of the round-by-round ratios: each pair was measured
        back to back, so load from outside that comes and goes cancels out within a pair.
        """
        paired = paired_ratio(self.samples)
        if paired is not None:
            return paired
        return self.ratio_of_medians

    @property
    def ratio_of_medians(self) -> float | None:
        """median(ours) / median(anchor)."""
        if self.ours is None or not self.anchor:
            return None
        return self.ours / self.anchor

    @property
    def ok(self) -> bool | None:
        """Whether the goal is met; None when there is no goal."""
        if self.goal is None:
            return None
        op, limit = self.goal
        if op.startswith("value"):
            value, op = self.ours, op.removeprefix("value")
        elif op == "==":
            value = self.ours
        else:
            value = self.ratio
        if value is None:
            return False
        return {"<=": value <= limit, "<": value < limit, ">=": value >= limit, "==": value == limit}[op]

    def goal_text(self) -> str:
        if self.goal is None:
            return "-"
        op, limit = self.goal
        if op.startswith("value"):
            return f"{op.removeprefix('value')} {limit:g} {self.unit.split()[0]}"
        if op == "==":
            return f"== {limit:g}"
        return f"{op} {limit:g}x"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ratio=self.ratio, ratio_of_medians=self.ratio_of_medians, ok=self.ok, goal_text=self.goal_text())
        return data


def median(values: Iterable[float]) -> float:
    """The median of a non-empty sequence."""
    return float(statistics.median(list(values)))


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile (p50, p99) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


def interleave(measures: dict[str, Callable[[], T]], repeats: int) -> dict[str, list[T]]:
    """Run each measure ``repeats`` times as A B A B …, flipping the order every round.

    Drift (a warming CPU, a busy neighbour) then lands on every side alike.
    """
    results: dict[str, list[T]] = {name: [] for name in measures}
    names = list(measures)
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else reversed(names):
            results[name].append(measures[name]())
    return results


def paired_ratio(samples: dict[str, list[float]]) -> float | None:
    """The median of ours/anchor taken round by round; None without exactly one other side of equal length."""
    others = [side for side in samples if side != "ours"]
    if "ours" not in samples or len(others) != 1 or len(samples[others[0]]) != len(samples["ours"]):
        return None
    pairs = [o / a for o, a in zip(samples["ours"], samples[others[0]], strict=True) if a]
    return median(pairs) if pairs else None


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{platform.system()} {platform.machine()}",
        "executable": sys.executable,
        "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def machine_line(info: dict[str, Any]) -> str:
    return f"machine: {info['cpus']} CPUs, {info['python']}, {info['platform']}"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def format_table(figures: Sequence[Figure], info: dict[str, Any]) -> str:
    """The table ``make bench`` prints."""
    header = ("row", "ours", "anchor", "ratio", "goal", "ok")
    rows = [header]
    for fig in figures:
        ok = {None: "", True: "yes", False: "NO"}[fig.ok]
        ratio = f"{fig.ratio:.2f}x" if fig.ratio is not None else "-"
        rows.append((f"{fig.name} ({fig.unit})", _number(fig.ours), _number(fig.anchor), ratio, fig.goal_text(), ok))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [machine_line(info)]
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:4], widths[1:4], strict=True)]
        cells += [r[4].ljust(widths[4]), r[5]]
        lines.append("  ".join(cells).rstrip())
    anchors = sorted({f"{f.row}: anchor = {f.anchor_name}" for f in figures if f.anchor_name})
    note = "ours, anchor: medians; ratio: median of the round-by-round ratios (A B, B A, … measured back to back)"
    warnings = [f"WARNING {f.name}: {f.extra['warning']}" for f in figures if f.extra.get("warning")]
    return "\n".join([*lines, "", note, *anchors, *warnings])


def write_results(figures: Sequence[Figure], info: dict[str, Any], path: Path, **meta: Any) -> None:
    """Every figure, with its samples, as JSON."""
    data = {"machine": info, **meta, "figures": [f.as_dict() for f in figures]}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
