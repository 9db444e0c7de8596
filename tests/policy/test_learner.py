"""DeepSpeedLearner on the tiny Llama: real DeepSpeed (CPU accelerator, gloo)."""

from __future__ import annotations

import glob
import multiprocessing as mp
import os

import pytest

from visrep.config import LearnerConfig
from visrep.policy.learner import DeepSpeedLearner, deepspeed_config

pytestmark = pytest.mark.engines  # tests/conftest.py: one worker, in file order

PROMPT = "# Task: count the red circles\ndef execute_command(image):\n"
PROGRAM = "    return len(image.find('red circle'))\n"


def test_deepspeed_config_follows_learner_config():
    ds = deepspeed_config(LearnerConfig(zero_stage=2, batch_size=8, dtype="float32"), world_size=2)
    assert ds["zero_optimization"]["stage"] == 2
    assert ds["bf16"]["enabled"] is False
    assert ds["train_micro_batch_size_per_gpu"] == 4 and ds["train_batch_size"] == 8


def test_zero2_trains_and_exports(tiny_dir, tmp_path, port):
    from transformers import AutoModelForCausalLM

    cfg = LearnerConfig(zero_stage=2, dtype="float32", batch_size=2, lr=5e-3, max_len=128)
    learner = DeepSpeedLearner(tiny_dir, cfg, master_port=port)
    try:
        assert not learner.sharded_at_load  # ZeRO-1/2 keep the whole model on every rank
        stats = learner.train([(PROMPT, PROGRAM), ("x = ", "1\n")], epochs=8, progress=False)
        assert stats["last_loss"] < stats["first_loss"]
        out = learner.save_hf(tmp_path / "ckpt2")
    finally:
        learner.close()
    model = AutoModelForCausalLM.from_pretrained(out)
    assert sum(p.numel() for p in model.parameters()) > 0


def _rank_main(rank, world, port, model_dir, out_dir, queue):
    import visrep  # noqa: F401  (torchvision fix in the spawned child)
    from visrep.policy.checkpoints import from_arrays, read_weights

    cfg = LearnerConfig(zero_stage=3, dtype="bfloat16", batch_size=4, lr=1e-2, max_len=128)
    given = {k: (v * 0.5).bfloat16() for k, v in read_weights(model_dir).items()}  # a rank restarted from weights
    learner = DeepSpeedLearner(model_dir, cfg, rank=rank, world_size=world, master_port=port, weights=given)
    try:
        held = learner.weights()  # gathered onto rank 0
        if rank == 0:
            assert all(v.equal(given[k]) for k, v in from_arrays(held).items())
        params = list(learner.engine.module.parameters())
        on_cpu = learner.engine.device.type == "cpu"  # bf16 on the CPU: eager attention
        assert learner.engine.module.config._attn_implementation == ("eager" if on_cpu else "sdpa")
        stats = {"sharded_at_load": learner.sharded_at_load,  # built inside zero.Init: a shard from the start
                 "held": sum(p.ds_tensor.numel() for p in params), "total": sum(p.ds_numel for p in params)}
        examples = [(PROMPT, PROGRAM), ("x = ", "1\n"), ("y = ", "2\n")]  # 3: padded to 4
        stats.update(learner.train(examples, epochs=10, progress=False))
        learner.save_hf(out_dir)
        queue.put((rank, stats))
    finally:
        learner.close()


@pytest.mark.slow
def test_two_ranks_gloo_zero3(tiny_dir, tmp_path, port):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    before = set(glob.glob("/dev/shm/deepspeed_allreduce_buffer_*"))
    procs = [ctx.Process(target=_rank_main, args=(r, 2, port, tiny_dir, tmp_path / "ckpt", queue))
             for r in range(2)]
    try:
        for p in procs:
            p.start()
        results = dict(queue.get(timeout=300) for _ in procs)
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        for path in set(glob.glob("/dev/shm/deepspeed_allreduce_buffer_*")) - before:
            os.remove(path)
    for r in results.values():  # each rank holds half the model (rounded up per tensor), never all of it
        assert r["sharded_at_load"] and r["total"] / 2 <= r["held"] < 0.6 * r["total"], r
    assert results[0]["steps"] == results[1]["steps"] == 10  # 2 examples/rank, micro batch 2
    assert results[0]["loss"] == pytest.approx(results[1]["loss"])  # reduced over ranks
    assert results[0]["last_loss"] < results[0]["first_loss"]
    assert (tmp_path / "ckpt" / "model.safetensors").is_file()


def test_a_kept_learner_trains_as_one_built_anew_from_its_weights(tiny_dir, port):
    """The loop keeps one learner for the run: its second step (fresh optimiser) must give what
    a learner built for that step from the first step's weights gives, bit for bit."""
    import torch

    from visrep.policy.checkpoints import from_arrays

    cfg = LearnerConfig(zero_stage=0, dtype="float32", batch_size=2, lr=5e-3, max_len=128)
    first, second = [(PROMPT, PROGRAM), ("x = ", "1\n")], [("y = ", "2\n"), (PROMPT, PROGRAM)]
    kept = DeepSpeedLearner(tiny_dir, cfg, master_port=port)
    try:
        kept.train(first, epochs=3, seed=1, progress=False)
        after_first = from_arrays(kept.weights())
        kept.train(second, epochs=3, seed=2, progress=False)
        kept_out = from_arrays(kept.weights())
    finally:
        kept.close()
    fresh = DeepSpeedLearner(tiny_dir, cfg, master_port=port, weights=after_first)
    try:
        assert all(torch.equal(v, after_first[k]) for k, v in from_arrays(fresh.weights()).items())
        fresh.train(second, epochs=3, seed=2, progress=False)
        fresh_out = from_arrays(fresh.weights())
    finally:
        fresh.close()
    assert kept_out.keys() == fresh_out.keys() == after_first.keys()
    assert any(not torch.equal(kept_out[k], after_first[k]) for k in kept_out)  # the step trained
    assert all(torch.equal(kept_out[k], fresh_out[k]) for k in kept_out)
