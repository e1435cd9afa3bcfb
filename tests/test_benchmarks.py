"""The benchmark script's machinery (no timings are asserted: speed lives in the report)."""
import importlib.util
import json
from pathlib import Path

import pytest
import torch

import advlab as al

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("advlab_benchmarks", ROOT / "benchmarks" / "run.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_median_times_runs_every_contender_round_robin():
    order = []
    t = bench.median_times({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, repeats=3)
    assert order == ["a", "b"] * 4          # one warm-up round, then three timed rounds
    assert set(t) == {"a", "b"} and all(v >= 0 for v in t.values())


def test_drive_times_each_change_and_its_parts(tiny_gap):
    torch.manual_seed(0)
    x, y = torch.rand(3, 3, 16, 16), torch.tensor([0, 1, 2])
    panel = al.widgets.AttackExplorer(tiny_gap, x, y, attack="pgd", steps=2, eps=2 / 255)
    seen = []
    changes = [bench._set(panel.eps, v / 255) for v in (3, 4, 5)]
    changes.insert(1, (lambda: seen.append(panel.index.value) or setattr(panel.index, "value", 1), False))
    row = bench.drive(panel, changes)
    assert row["changes"] == 3 and seen == [0] and panel.index.value == 1   # the untimed change is made
    assert row["p50_ms"] <= row["p95_ms"] and row["compute_ms"] > 0 and row["draw_ms"] > 0
    assert "compute" not in vars(panel) and "png" not in vars(panel)     # instrumentation removed
    assert panel.state.eps == 5 / 255


def test_compute_limit_in_chunks_covers_every_image(tiny_gap):
    calls = []
    handle = tiny_gap.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    try:
        bench.compute_limit(tiny_gap, torch.rand(5, 3, 16, 16), torch.tensor([0, 1, 2, 3, 4]), steps=2, chunk=2)
    finally:
        handle.remove()
    assert calls == [2, 2, 2, 2, 1, 1]   # 3 chunks × 2 steps


def test_report_renders_every_section():
    secs = {"limit": 2.0, "limit_chunked": 1.5, "advlab": 1.5, "torchattacks": 2.0, "captum.robust": 2.5}
    res = {"machine": {"cpu": "x", "cores": 2, "threads": 2, "torch": "t", "repeats": 5},
           "attacks": [{"model": "m", "steps": 10, "batch": 256, "advlab_batch_size": 64, "seconds": secs,
                        "accuracy": {"advlab": 0.0, "torchattacks": 0.0, "captum.robust": 0.01}}],
           "interpreters": [{"method": "ig", "reference": "captum", "advlab_s": 1.0, "reference_s": 1.0,
                             "ms_per_image": 15.6}],
           "slider": [{"panel": "P", "changes": 30, "p50_ms": 40, "p95_ms": 50, "compute_ms": 25, "draw_ms": 15,
                       "static_frames": 6, "static_s": 1.0, "static_kb": 300}]}
    md = bench.report(res)
    assert "| m | 10 | 256 | 2.000 | 1.500 | 1.500 | 2.000 | 2.500 | 0.75× | 1.00× | 0.75× | 0.75× | – |" in md
    assert "| P | 30 | 40 | 50 | 25 | 15 | 6 | 1.0 | 300 |" in md and "64 images at a time" in md


def test_only_panels_merges_rows_into_the_existing_report(tmp_path, monkeypatch):
    row = {"changes": 30, "p50_ms": 40, "p95_ms": 50, "compute_ms": 25, "draw_ms": 15, "static_frames": 6,
           "static_s": 1.0, "static_kb": 300}
    secs = {"limit": 2.0, "limit_chunked": 1.5, "advlab": 1.5, "torchattacks": 2.0, "captum.robust": 2.5}
    old = {"machine": {"cpu": "x", "cores": 2, "threads": 2, "torch": "t", "repeats": 5},
           "attacks": [{"model": "m", "steps": 10, "batch": 256, "advlab_batch_size": 64, "seconds": secs,
                        "accuracy": None}],
           "interpreters": [], "slider": [{"panel": "A", **row}, {"panel": "B", **row}]}
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "report.json").write_text(json.dumps(old))
    asked = []

    def fake(panels):
        asked.append(panels)
        return [{"panel": "B", **row, "p95_ms": 60}, {"panel": "Pathways (x)", **row, "p95_ms": 70, "cache_s": 9.0}]
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    monkeypatch.setattr(bench, "bench_slider", fake)
    monkeypatch.setattr(bench, "bench_attacks", lambda *a: pytest.fail("only the panels may run"))
    bench.main(["--only", "panels", "--panels", "Pathways", "MapComparison", "--note", "load 4"])
    res = json.loads((tmp_path / "benchmarks" / "report.json").read_text())
    assert asked == [["Pathways", "MapComparison"]]
    assert [r["panel"] for r in res["slider"]] == ["A", "B", "Pathways (x)"]       # replaced in place, then new
    assert [r["p95_ms"] for r in res["slider"]] == [50, 60, 70] and res["machine"]["cpu"] == "x"
    md = (tmp_path / "benchmarks" / "report.md").read_text()
    assert "| Pathways (x) | 30 | 40 | 70 |" in md and "precompute``: 9 s" in md
    assert "later run (``--only panels``): Pathways, MapComparison on" in md and "load 4" in md


def test_only_lab_adds_the_browser_section(tmp_path, monkeypatch):
    secs = {"limit": 2.0, "limit_chunked": 1.5, "advlab": 1.5, "torchattacks": 2.0, "captum.robust": 2.5}
    old = {"machine": {"cpu": "x", "cores": 2, "threads": 2, "torch": "t", "repeats": 5},
           "attacks": [{"model": "m", "steps": 10, "batch": 256, "advlab_batch_size": 64, "seconds": secs,
                        "accuracy": None}], "interpreters": [], "slider": []}
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "report.json").write_text(json.dumps(old))
    row = {"panel": "MapComparison", "control": "ε", "presses": 12, "idle_s": 30, "first_p50_ms": 150.0,
           "first_p95_ms": 310.0, "prefetched_p50_ms": 90.0, "prefetched_p95_ms": 140.0, "revisited_p50_ms": 80.0,
           "revisited_p95_ms": 120.0, "size": "528x544 shown 528x544", "panel_size": "930x700", "problems": [],
           "missed": 0}
    old["lab_before"] = {"commit": "abc1234", "when": "2026-12-05", "rows": [
        {"panel": "MapComparison", "control": "ε", "first_p50_ms": 213.0, "first_p95_ms": 233.0,
         "again_p50_ms": 74.0, "again_p95_ms": 87.0}]}
    (tmp_path / "benchmarks" / "report.json").write_text(json.dumps(old))
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    monkeypatch.setattr(bench, "bench_lab", lambda panels=None: [row])
    monkeypatch.setattr(bench, "bench_slider", lambda *a, **k: pytest.fail("only the browser may run"))
    bench.main(["--only", "lab", "--note", "quiet"])
    res = json.loads((tmp_path / "benchmarks" / "report.json").read_text())
    assert res["lab"]["rows"] == [row] and res["slider"] == []
    md = (tmp_path / "benchmarks" / "report.md").read_text()
    assert "| MapComparison (ε) | 150 / 310 | (same) | 90 / 140 | 80 / 120 | 528x544 shown 528x544 | 930x700 |" in md
    assert "Goal: p95 ≤ 200 ms" in md and "quiet" in md and "after 30 s of reading" in md
    assert "commit abc1234" in md and "| MapComparison | ε | 213 / 233 | 74 / 87 |" in md
    assert bench._percentile([100.0, None], 50) == 10050.0   # a press that never redrew counts as 20 s
