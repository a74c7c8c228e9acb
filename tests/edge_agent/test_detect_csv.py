"""`forewarn detect` replays CSVs of shapes it has never seen through the agent's
detectors: it finds the time, asset and sensor columns, flags what it should, and
refuses what it cannot read with a clear message."""

import csv
import math
import random
import subprocess
import sys

import pytest

from edge_agent.detect_csv import detect_csv
from edge_agent.errors import DetectError


def write(path, header, rows, delimiter=","):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)


def read(path, delimiter=","):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def test_one_value_with_iso_timestamps_like_nab(tmp_path):
    """timestamp,value (the Numenta Anomaly Benchmark's shape): a spike is flagged."""
    rng = random.Random(1)
    rows = [[f"2014-04-{1 + i // 288:02d} {i % 288 // 12:02d}:{i % 12 * 5:02d}:00",
             f"{50 + 5 * math.sin(i / 20) + rng.gauss(0, 0.5):.3f}"] for i in range(1500)]
    rows[1200][1] = "95.0"
    write(tmp_path / "nab.csv", ["timestamp", "value"], rows)
    report = detect_csv(tmp_path / "nab.csv", tmp_path / "out.csv")
    assert report.layout.time == "timestamp" and report.layout.time_unit == "datetime"
    assert report.layout.sensors == ["value"]
    out = read(tmp_path / "out.csv")
    assert len(out) == 1500 and list(out[0])[-3:] == ["score", "anomaly", "detector"]
    assert out[1200]["anomaly"] == "1" and float(out[1200]["score"]) >= 1.0
    flagged = [i for i, r in enumerate(out) if r["anomaly"] == "1"]
    assert len(flagged) <= 5  # the spike and at most a few rows around it


def test_no_time_column_semicolons_text_columns_and_a_stuck_sensor(tmp_path):
    """Several machines in one file, semicolon-separated, a free-text column, no time:
    a sensor frozen on one machine is flagged there and nowhere else."""
    rng = random.Random(2)
    rows = []
    for i in range(600):
        for machine in ("M1", "M2"):
            temp = 60 + rng.gauss(0, 0.8)
            if machine == "M2" and 400 <= i < 460:
                temp = 61.234  # stuck
            rows.append([machine, f"{temp:.3f}", f"{3 + rng.gauss(0, 0.1):.4f}",
                         "ok" if i % 7 else "note: checked"])
    write(tmp_path / "plant.csv", ["Machine", "Temp_C", "Vib_mm_s", "Remarks"], rows,
          delimiter=";")
    report = detect_csv(tmp_path / "plant.csv", tmp_path / "out.csv")
    lay = report.layout
    assert (lay.time, lay.asset, lay.sensors) == (None, "Machine", ["Temp_C", "Vib_mm_s"])
    assert lay.ignored == ["Remarks"]
    out = read(tmp_path / "out.csv", delimiter=";")
    stuck = [r for r in out if r["Machine"] == "M2" and r["detector"] == "stuck"]
    assert len(stuck) >= 40
    assert not [r for r in out if r["Machine"] == "M1" and r["detector"] == "stuck"]
    assert report.by_detector["stuck"] >= 40


def test_labels_are_not_scored_and_give_precision_and_recall(tmp_path):
    rng = random.Random(3)
    rows = []
    for i in range(800):
        drifted = 500 <= i < 600
        value = 20 + rng.gauss(0, 0.3) + (0.4 * (i - 500) if drifted else 0)
        rows.append([i, f"{value:.3f}", f"{7 + rng.gauss(0, 0.2):.3f}", int(drifted)])
    write(tmp_path / "d.csv", ["t", "pressure", "flow", "is_anomaly"], rows)
    report = detect_csv(tmp_path / "d.csv", tmp_path / "out.csv")
    assert report.layout.label == "is_anomaly" and "is_anomaly" not in report.layout.sensors
    assert report.metrics["precision"] >= 0.8 and report.metrics["recall"] >= 0.5


def test_unreadable_cells_are_missing_values_not_a_crash(tmp_path):
    rows = [[i, f"{10 + (i % 5) * 0.1:.2f}"] for i in range(100)]
    rows[50][1] = "#DIV/0!"
    rows[60][1] = ""
    write(tmp_path / "x.csv", ["time", "level"], rows[:40])  # layout read from clean rows
    with open(tmp_path / "x.csv", "a", newline="") as fh:
        csv.writer(fh).writerows(rows[40:])
    report = detect_csv(tmp_path / "x.csv", tmp_path / "out.csv")
    assert report.rows == 100 and report.unreadable_cells == 1


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty: a header row is needed"),
    ("name,comment\npump,fine\n", "no numeric sensor column found"),
    ("time,value\n", "has a header and no rows"),
])
def test_what_cannot_be_read_is_refused_clearly(tmp_path, content, message):
    (tmp_path / "bad.csv").write_text(content)
    with pytest.raises(DetectError, match=message):
        detect_csv(tmp_path / "bad.csv", tmp_path / "out.csv")


def test_cli_with_an_agent_config_and_a_clear_error(tmp_path):
    rows = [[i, f"{5 + (i % 3) * 0.01:.2f}"] for i in range(200)]
    rows[150][1] = "7.5"
    write(tmp_path / "in.csv", ["time", "current"], rows)
    (tmp_path / "agent.toml").write_text(
        "[detector]\ndetectors = [\"out_of_range\"]\nranges = { current = [0.0, 6.0] }\n")
    run = subprocess.run([sys.executable, "-m", "forewarn.cli", "detect", "--data",
                          str(tmp_path / "in.csv"), "--out", str(tmp_path / "out.csv"),
                          "--config", str(tmp_path / "agent.toml"), "--quiet"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "1 rows flagged" in run.stdout and "out_of_range 1" in run.stdout
    out = read(tmp_path / "out.csv")
    assert [i for i, r in enumerate(out) if r["anomaly"] == "1"] == [150]
    missing = subprocess.run([sys.executable, "-m", "forewarn.cli", "detect", "--data",
                              str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr
