"""Learning-curve plots of the self-training report: one PNG per task kind, a panel per
held-out split, the self-trained curve (mean ± sd over seeds), the curve with corrections,
and the rows that need no training as horizontal lines."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a cluster node or in CI
import matplotlib.pyplot as plt  # noqa: E402

from visrep.selftrain.report import ALL, Report, Row  # noqa: E402  (after the backend is chosen)

_BASELINE_STYLE = {"passthrough": ("tab:gray", ":"), "fewshot": ("tab:purple", "-."),
                   "reference": ("tab:green", "--")}


def _series(rows: list[Row], kind: str, split: str) -> tuple[list[int], list[float], list[float]]:
    points = [(r.iteration, r.cells[(kind, split)]) for r in rows if (kind, split) in r.cells]
    return [i for i, _ in points], [c.mean for _, c in points], [c.sd for _, c in points]


def plot_kind(report: Report, kind: str, path: Path) -> Path:
    """Write one kind's curves to ``path`` (PNG)."""
    splits = (*report.splits, ALL)
    fig, axes = plt.subplots(1, len(splits), figsize=(3.2 * len(splits), 3.2), sharey=True, squeeze=False)
    for ax, split in zip(axes[0], splits):
        x, mean, sd = _series(report.trained, kind, split)
        ax.plot(x, mean, "o-", color="tab:blue", label="self-trained")
        ax.fill_between(x, [m - s for m, s in zip(mean, sd)], [m + s for m, s in zip(mean, sd)],
                        color="tab:blue", alpha=0.2)
        cx, cmean, _ = _series(report.corrected, kind, split)
        if cx:
            ax.plot(cx, cmean, "s--", color="tab:orange", label="with corrections")
        for phase, (color, style) in _BASELINE_STYLE.items():
            row = report.baselines.get(phase)
            if row is not None and (kind, split) in row.cells:
                ax.axhline(row.cells[(kind, split)].mean, color=color, linestyle=style, label=row.label.split(" (")[0])
        ax.set_title(f"{kind}: {split}")
        ax.set_xlabel("iteration")
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].set_ylabel("held-out accuracy")
    axes[0][-1].legend(fontsize="x-small", loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path

