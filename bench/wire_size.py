"""Bytes on the wire per value: the compact encoding against schema-1 JSON, same samples.

    python bench/wire_size.py [--devices 100] [--registers 50] [--seconds 60] [--batch 50]

A gateway polling ``--devices`` devices of ``--registers`` holding registers each once a
second, batched as the agent batches (``batch_max_samples`` = ``--batch``, cut every
second). Each register has a realistic name, a dtype and a scale (int16 x0.1 and x0.01,
uint16, uint32 counters, float32), and values move like sensors do (slow drift, noise,
the odd step), encoded to registers and decoded back with the agent's own codec, so
they carry the digits a real register gives. Every message is built by the same
``ReadingBatch`` methods the agent uses; the compact messages are decoded again and
checked equal to what was sent. Printed: bytes per value for JSON, compact without and
with deflate, and compact with report by exception on the slow registers (a deadband of
one resolution step, a 60 s heartbeat).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts.wire import ReadingBatch, Sample, decode_telemetry  # noqa: E402
from edge_agent.processors.report_by_exception import ReportByException  # noqa: E402
from edge_agent.registers import RegisterSpec, decode, encode  # noqa: E402

PARTS = ["bearing_de", "bearing_nde", "stator_winding_u", "stator_winding_v", "gearbox_oil",
         "discharge", "suction", "motor", "pump_casing", "seal_chamber", "inlet", "outlet",
         "cooling_water", "lube_oil", "coupling"]
# (suffix, dtype, scale, typical value, noise, slow: reported by exception)
KINDS = [("temperature_c", "int16", 0.1, 60.0, 0.15, True),
         ("pressure_bar", "int16", 0.01, 6.0, 0.02, False),
         ("vibration_velocity_mm_s", "float32", 1.0, 2.5, 0.08, False),
         ("current_a", "int16", 0.1, 35.0, 0.3, False),
         ("speed_rpm", "uint16", 1.0, 1480.0, 1.0, False),
         ("running_hours", "uint32", 1.0, 12000.0, 0.0, True),
         ("status_word", "uint16", 1.0, 3.0, 0.0, True)]


def register_map(n: int) -> list[RegisterSpec]:
    specs, address = [], 0
    for i in range(n):
        suffix, dtype, scale, *_ = KINDS[i % len(KINDS)]
        spec = RegisterSpec(name=f"{PARTS[i % len(PARTS)]}_{suffix}", address=address,
                            dtype=dtype, scale=scale)
        if any(s.name == spec.name for s in specs):
            spec = spec.model_copy(update={"name": f"{spec.name}_{i}"})
        specs.append(spec)
        address += spec.count
    return specs


def _rows(samples: list[Sample]) -> list[tuple]:
    return sorted((s.asset, s.ts, s.values, sorted(s.unchanged)) for s in samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--registers", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--batch", type=int, default=50)
    args = ap.parse_args()
    rng = random.Random(42)
    specs = register_map(args.registers)
    kinds = [KINDS[i % len(KINDS)] for i in range(args.registers)]
    slow = [s.model_copy(update={"deadband": s.scale, "max_interval_s": 60.0})
            if kind[5] else s for s, kind in zip(specs, kinds, strict=True)]
    assets = [f"line{d // 20 + 1:02d}-pump-{d:03d}" for d in range(args.devices)]
    rbe = ReportByException({a: slow for a in assets})
    level = {(a, s.name): k[3] * rng.uniform(0.8, 1.2)
             for a in assets for s, k in zip(specs, kinds, strict=True)}
    t0 = datetime(2026, 12, 3, tzinfo=UTC)
    topic = "forewarn/v1/site-01/gw-01/telemetry"
    sizes = {"json": 0, "compact, not deflated": 0, "compact": 0,
             "compact + report by exception": 0}
    values = messages = 0
    started = time.perf_counter()
    for second in range(args.seconds):
        plain, lean = [], []
        for d, asset in enumerate(assets):
            ts = t0 + timedelta(seconds=second, milliseconds=d * 7 + rng.randrange(3))
            read: dict[str, float | int] = {}
            for spec, kind in zip(specs, kinds, strict=True):
                key = (asset, spec.name)
                if kind[0] == "running_hours":
                    level[key] += 1 / 3600
                elif kind[0] == "status_word":
                    level[key] = 3.0 if rng.random() > 0.001 else 7.0
                else:
                    level[key] += rng.gauss(0, kind[4] * 0.05)
                raw = level[key] + rng.gauss(0, kind[4])
                read[spec.name] = decode(encode(raw, spec), spec)
            sample = Sample(asset=asset, ts=ts, values=read)
            plain.append(sample)
            lean.append(rbe.filter(sample))
            values += len(read)
        for i in range(0, len(plain), args.batch):
            messages += 1
            seq = messages
            for name, chunk in (("plain", plain[i: i + args.batch]),
                                ("lean", lean[i: i + args.batch])):
                batch = ReadingBatch(gateway="gw-01", seq=seq, sent_at=ts, samples=chunk)
                if name == "plain":
                    sizes["json"] += len(batch.to_bytes())
                    sizes["compact, not deflated"] += len(batch.to_compact(False))
                    payload = batch.to_compact()
                    sizes["compact"] += len(payload)
                else:
                    payload = batch.to_compact()
                    sizes["compact + report by exception"] += len(payload)
                back = decode_telemetry("forewarn/v1/s/gw-01/telemetry", payload).batch
                assert back is not None and _rows(back.samples) == _rows(chunk), "round trip"
        print(f"\r{second + 1}/{args.seconds} s simulated", end="", file=sys.stderr)
    print(file=sys.stderr)
    took = time.perf_counter() - started
    print(f"{args.devices} devices x {args.registers} registers at 1 s, {args.seconds} s: "
          f"{values:,} values in {messages:,} messages of up to {args.batch} samples "
          f"(every compact message decoded and checked equal; {took:.1f} s)")
    base = sizes["json"] / values
    # an MQTT 3.1.1 QoS 1 PUBLISH adds a fixed header (1 byte + 1..4 length bytes), the
    # topic (2 + its length) and a packet id (2): counted per message in the last column
    header = 1 + 3 + 2 + len(topic) + 2
    print(f"  {'':<32} {'payload':>7} {'':<11} {'':>11}  {'with MQTT header':>16}")
    for name, total in sizes.items():
        per = total / values
        framed = (total + messages * header) / values
        print(f"  {name:<32} {per:7.2f} bytes/value  {per / base:6.1%} of JSON  "
              f"{framed:7.2f} bytes/value")
    print(f"  values held as unchanged: {rbe.held:,} of {values:,} "
          f"({rbe.held / values:.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
