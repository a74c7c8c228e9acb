"""Plots of simulated runs to failure, one PNG per failure mode (docs/simulators.md)."""

from __future__ import annotations

from pathlib import Path

from contracts.signals import RUN_SIGNAL

from .physics import _MODE_KINDS, _WEAR, PHASES, Asset


def plot_run_to_failure(mode: str, out: Path, seed: int = 7, onset_h: float = 120.0,
                        failure_h: float = 240.0) -> Path:
    """Plot the sensors ``mode`` affects for one asset from start to past its failure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kind = _MODE_KINDS[mode][0]
    asset = Asset(id=f"{kind}-demo", kind=kind, failure_mode=mode, onset_h=onset_h,  # type: ignore[arg-type]
                  failure_h=failure_h, seed=seed)
    times = [t / 4 for t in range(int((failure_h + 24) * 4))]
    reads = [asset.read(t) for t in times]
    # The mode's sensors, earliest to show the wear first; phase currents when they part.
    wear = {k: v for k, v in _WEAR[mode].items() if k in reads[0] or k == "phase_imbalance"}
    signals = [s for s in sorted(wear, key=lambda s: wear[s][1])][:5]
    signals = [s for x in signals for s in (PHASES if x == "phase_imbalance" else (x,))]
    stopped = [t for t, r in zip(times, reads, strict=True) if not r[RUN_SIGNAL]]
    fig, axes = plt.subplots(len(signals), 1, figsize=(9, 1.7 * len(signals)), sharex=True)
    for ax, name in zip(axes, signals, strict=True):
        ax.plot(times, [r[name] for r in reads], lw=0.7, color="#2563eb")
        if stopped:
            ax.vlines(stopped, 0, 1, transform=ax.get_xaxis_transform(), color="#9ca3af",
                      alpha=0.25, lw=1.5)
        ax.set_ylabel(name, fontsize=8)
        ax.axvline(onset_h, color="#b45309", ls="--", lw=1)
        ax.axvline(failure_h, color="#b91c1c", lw=1.2)
        ax.grid(alpha=0.3)
    axes[0].set_title(f"{kind}, {mode}: onset at {onset_h:g} h (dashed), failure/trip at "
                      f"{failure_h:g} h (red); stopped (grey)", fontsize=9)
    axes[-1].set_xlabel("simulated hours")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def plot_all(out_dir: str | Path, seed: int = 7) -> list[Path]:
    return [plot_run_to_failure(m, Path(out_dir) / f"run-to-failure-{m}.png", seed=seed)
            for m in _MODE_KINDS]
