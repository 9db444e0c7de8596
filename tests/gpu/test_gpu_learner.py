"""DeepSpeedLearner on CUDA with NCCL (one rank per GPU, up to 2, as spawned processes): the loss
falls, and the HF checkpoint it saves is what vLLM on CUDA then serves (greedy writes the program)."""

import json
from pathlib import Path

import pytest

from visrep.config import LearnerConfig, SamplerConfig
from visrep.distributed import free_port
from visrep.policy.sampling import VllmSampler

pytestmark = [pytest.mark.gpu, pytest.mark.engines]  # engines: vLLM in this process, after the ranks

PROMPT = "# Task: count the red circles\ndef execute_command(image):\n"
PROGRAM = "    return str(len(image.find('red circle')))\n"
STEPS = 60  # as the CPU hand-off test (tests/actors/test_sampler_learner.py)


def _rank(rank: int, world: int, port: int, model_dir: Path, out: Path) -> None:
    import torch.distributed as dist

    from visrep.policy.learner import DeepSpeedLearner

    cfg = LearnerConfig(zero_stage=2 if world > 1 else 0, dtype="auto", batch_size=2 * world, lr=1e-2, max_len=128)
    learner = DeepSpeedLearner(model_dir, cfg, rank=rank, world_size=world, master_port=port)
    try:
        facts = {"backend": dist.get_backend(), "device": str(learner.engine.device)}
        stats = learner.train([(PROMPT, PROGRAM)] * (2 * world), epochs=STEPS, progress=False)
        learner.save_hf(out / "ckpt")
    finally:
        learner.close()
    (out / f"rank{rank}.json").write_text(json.dumps({**facts, **stats}))


def test_nccl_learner_trains_and_vllm_serves_its_checkpoint(gpu_tiny_dir, gpu_policy, tmp_path):
    import torch
    import torch.multiprocessing as mp

    world = min(2, torch.cuda.device_count())
    mp.spawn(_rank, args=(world, free_port(), gpu_tiny_dir, tmp_path), nprocs=world, join=True)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(world)]
    assert [r["backend"] for r in ranks] == ["nccl"] * world
    assert [r["device"] for r in ranks] == [f"cuda:{r}" for r in range(world)]
    assert all(r["steps"] == STEPS for r in ranks)
    assert ranks[0]["last_loss"] < 0.1 * ranks[0]["first_loss"], ranks[0]

    sampler = VllmSampler(tmp_path / "ckpt", gpu_policy, SamplerConfig(), seed=0)
    try:
        [[greedy]] = sampler.sample([PROMPT], n=1, temperature=0.0, top_p=1.0, max_tokens=32, stop=[])
    finally:
        sampler.close()
    assert greedy.text.startswith(PROGRAM), greedy.text
    print(f"\nlearner on {world} GPU(s), NCCL: {ranks[0]['tokens_per_s']:.0f} tokens/s; vLLM wrote the program")
