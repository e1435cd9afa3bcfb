"""Data-parallel training: 2 CPU processes (gloo) under torchrun end with identical parameters, equal to
one process's on the same global batches, and only rank 0 writes the zoo's files."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

import advlab as al

sys.path.insert(0, str(Path(__file__).parent))
import _ddp_worker as worker

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="torch.distributed with gloo is not available")


def _close(a, b, tol=1e-5):
    return a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=tol, rtol=0) for k in a)


def test_two_processes_train_what_one_process_trains(tmp_path, monkeypatch):
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(root))
    env.pop("WORLD_SIZE", None)
    if Path("/sys/class/net/lo").exists():  # Linux: gloo talks over loopback, whatever the hostname resolves to
        env["GLOO_SOCKET_IFNAME"] = "lo"
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(Path(worker.__file__)), str(tmp_path)], env=env, capture_output=True, text=True,
                         check=False, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    # the same model on every rank, plain and adversarial training alike
    for name in ("ce", "at"):
        r0, r1 = (torch.load(tmp_path / f"ddp_{name}_rank{r}.pt") for r in (0, 1))
        assert all(torch.equal(r0[k], r1[k]) for k in r0), name
    # one process on the same global batches (8 images, the 4 + 4 of the two shards)
    sets = worker.tiny_sets()
    monkeypatch.setenv("ADVLAB_DATA", str(tmp_path / "single"))
    worker.install(tmp_path / "single", sets, monkeypatch.setattr)
    monkeypatch.setitem(al.models.ARCHITECTURES, "tiny_ddp", worker.TinyNet)
    monkeypatch.setitem(al.zoo.RECIPES, "tiny_ddp", worker.RECIPE)
    (tmp_path / "single").mkdir()
    worker.fit_all(sets, tmp_path / "single", "one")
    single = torch.load(tmp_path / "single" / "one_ce_rank0.pt")
    assert _close(torch.load(tmp_path / "ddp_ce_rank0.pt"), single)
    assert not _close(torch.load(tmp_path / "single" / "one_at_rank0.pt"), single)  # AT trained something else
    # through the zoo: rank 0 wrote the weights, the manifest and the checkpoint; rank 1 returned nothing
    entries = [json.loads((tmp_path / f"zoo_rank{r}.json").read_text()) for r in (0, 1)]
    assert entries[1] is None and entries[0]["kind"] == "classifier"
    assert "2 data-parallel processes" in entries[0]["hardware"]
    assert sorted(p.name for p in (tmp_path / "weights").iterdir()) == ["tiny_ddp.pt"]
    assert (tmp_path / "data" / "checkpoints" / "tiny_ddp.ckpt").is_file()
    e = al.zoo.training.train("tiny_ddp", device="cpu", progress=False)
    assert _close(torch.load(tmp_path / "weights" / "tiny_ddp.pt"),
                  torch.load(tmp_path / "single" / "weights" / "tiny_ddp.pt"))
    assert e["params"] == entries[0]["params"]
