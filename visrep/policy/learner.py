"""DeepSpeed SFT of the policy on filtered programs; exports HF checkpoints vLLM loads.

One ``DeepSpeedLearner`` per rank, alive for a whole run: each ``train`` starts from the
weights it holds (the policy it last trained, or the ``weights`` it was built with) with a
fresh optimiser state, so a learner kept across iterations trains exactly as one built anew
from the same weights (what a restarted rank or a resumed run does), and ``weights()`` hands
the result over in memory.  It initialises ``torch.distributed`` itself when nobody
has (gloo on CPU, NCCL with CUDA; rank/world/master given explicitly), the OpenRLHF way,
so the same class runs as one process, as N processes, or inside N Ray actors.

Optimiser: torch's fused ``AdamW`` handed to ``deepspeed.initialize`` — DeepSpeed's
FusedAdam/CPUAdam JIT-compile C++ on first use (about a minute each), torch's does not, and
its fused kernel (CPU and CUDA) took an fp32 SmolLM2 step from 0.39 s to 0.10 s against the
per-parameter loop.  At world size 1 and ZeRO-0 DeepSpeed's gradient all-reduce is switched
off: it flattened and copied back every gradient to reduce over one rank (8 % of an fp32 step).

Batch semantics: ``LearnerConfig.batch_size`` is the GLOBAL batch (examples per optimiser
step across all ranks); each rank's micro batch is ``batch_size // world_size`` (≥ 1).
Each epoch the examples are shuffled with a seed all ranks share (the caller's ``seed`` and
the epoch: the self-training job passes ``run.seed`` and the iteration, so seeds differ in
what they train on and a resumed iteration shuffles as the first attempt did) and grouped by
length, so that each global batch holds examples of similar length (little padding); the order
is padded by wrapping around to a multiple of the world size (as ``DistributedSampler``), and
rank ``r`` takes every ``world_size``-th example from ``r`` — so all ranks take the same number
of steps, and each rank's micro batch comes from the same global batch.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

from visrep.config import LearnerConfig
from visrep.distributed import close_group, open_group
from visrep.hardware import resolve_bf16, training_attention
from visrep.policy.checkpoints import WeightArrays, Weights, from_arrays, to_arrays, write_checkpoint
from visrep.policy.sft import ATTENTION_MASK, encode_example, length_grouped_order, pad_batch, pad_id_of

if TYPE_CHECKING:
    import torch  # imported where used: visrep first (its torchvision fix)


def deepspeed_config(cfg: LearnerConfig, world_size: int) -> dict:
    """The DeepSpeed config dict for ``cfg`` (the optimiser is passed in, not configured).

    ``cfg.dtype`` is resolved here, for the device this process trains on."""
    micro = max(1, cfg.batch_size // world_size)
    return {
        "train_micro_batch_size_per_gpu": micro,
        "gradient_accumulation_steps": 1,
        "train_batch_size": micro * world_size,
        "gradient_clipping": 1.0,
        "zero_optimization": {"stage": cfg.zero_stage},
        "bf16": {"enabled": resolve_bf16(cfg.dtype)},
        "zero_allow_untested_optimizer": True,  # torch AdamW under ZeRO
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }


class DeepSpeedLearner:
    """Full fine-tuning of an HF causal LM with DeepSpeed (ZeRO 0–3, bf16 or fp32)."""

    def __init__(self, model_dir: Path, cfg: LearnerConfig, rank: int = 0, world_size: int = 1,
                 master_addr: str = "127.0.0.1", master_port: int = 29511,
                 weights: Weights | None = None) -> None:
        import torch

        self.cfg = cfg
        self.rank = rank
        self.world_size = world_size
        self.model_dir = Path(model_dir)
        # Thread count is the process's (OMP_NUM_THREADS): rayapps sets it from the
        # learner's CPU reservation, so no second knob here can contradict it.
        self._owns_process_group = open_group(rank, world_size, master_addr, master_port)
        if torch.cuda.is_available():
            torch.cuda.set_device(rank % torch.cuda.device_count())

        import deepspeed
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.integrations import HfDeepSpeedConfig

        config = deepspeed_config(cfg, world_size)
        # Host memory: the model is read in the dtype it trains in (DeepSpeed's bf16 casts it
        # anyway, keeping fp32 master copies in the optimizer), and at ZeRO-3 built inside
        # ``deepspeed.zero.Init`` (transformers does while an ``HfDeepSpeedConfig`` lives), so
        # each rank holds its shard from the start: a 7B policy read whole in fp32 is 28 GB a
        # rank, four ranks to a node.
        self._hf_zero3 = None
        if cfg.zero_stage == 3:
            import torch.distributed as dist

            deepspeed.init_distributed(dist.get_backend())  # zero.Init's world size is deepspeed.comm's
            self._hf_zero3 = HfDeepSpeedConfig(config)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        dtype = "bfloat16" if config["bf16"]["enabled"] else "float32"
        model = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=getattr(torch, dtype),
                                                     attn_implementation=training_attention(dtype))
        self.sharded_at_load = all(hasattr(p, "ds_id") for p in model.parameters())
        model.config.use_cache = False
        if weights is not None:
            self._load(model, weights)
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0, fused=True)
        self.engine, *_ = deepspeed.initialize(model=model, optimizer=optimizer, config=config)
        # ZeRO >= 1 keeps its gradient partitions in that reduction even on one rank
        self.engine.enable_backward_allreduce = world_size > 1 or cfg.zero_stage > 0

    def _load(self, model: torch.nn.Module, weights: Weights) -> None:
        """Set ``model``'s parameters to ``weights`` (a tied weight's second name is ignored);
        at ZeRO-3 one parameter at a time, gathered and re-partitioned, rank 0's values."""
        import deepspeed

        if self._hf_zero3 is None:
            model.load_state_dict(dict(weights))
            return
        for name, param in model.named_parameters():
            with deepspeed.zero.GatheredParameters([param], modifier_rank=0):
                if self.rank == 0:
                    param.data.copy_(weights[name])

    @property
    def micro_batch(self) -> int:
        return max(1, self.cfg.batch_size // self.world_size)

    def _set_lr(self, lr: float) -> None:
        for group in self.engine.optimizer.param_groups:
            group["lr"] = lr

    def _shard(self, lengths: list[int], seed: int) -> list[int]:
        """This rank's example indices for one epoch, in training order."""
        order = length_grouped_order(lengths, self.micro_batch * self.world_size, seed)
        total = math.ceil(len(order) / self.world_size) * self.world_size
        order = (order * math.ceil(total / len(order)))[:total]
        return order[self.rank::self.world_size]

    def train(self, examples: list[tuple[str, str]], epochs: int, lr: float | None = None,
              seed: int = 0, progress: bool = True) -> dict:
        """SFT for ``epochs`` passes; returns loss (mean), first/last loss, steps, tokens/s.

        Losses are averaged over ranks; ``tokens`` counts every non-padding token all ranks
        processed (prompt included: that is the compute), ``tokens_per_s`` = tokens / seconds,
        ``padding`` the positions the forward passes computed per such token (1.0: none).
        """
        import torch
        import torch.distributed as dist
        from tqdm import tqdm

        if not examples:
            raise ValueError("train: no examples")
        self._set_lr(self.cfg.lr if lr is None else lr)
        self._reset_optimizer()
        self.engine.train()
        device = self.engine.device
        encoded = [encode_example(self.tokenizer, p, c, self.cfg.max_len) for p, c in examples]
        lengths = [len(ids) for ids, _ in encoded]
        pad_id = pad_id_of(self.tokenizer)
        per_epoch = math.ceil(math.ceil(len(examples) / self.world_size) / self.micro_batch)
        bar = tqdm(total=per_epoch * epochs, desc="sft", disable=not progress or self.rank != 0,
                   leave=False)
        losses: list[float] = []
        tokens = positions = 0
        start = time.perf_counter()
        for epoch in range(epochs):
            shard = self._shard(lengths, seed=seed * 1000 + epoch)
            for i in range(0, len(shard), self.micro_batch):
                batch = pad_batch([encoded[j] for j in shard[i:i + self.micro_batch]], pad_id)
                tokens += int(batch[ATTENTION_MASK].sum())
                positions += batch[ATTENTION_MASK].numel()
                batch = {k: v.to(device) for k, v in batch.items()}
                loss = self.engine(**batch).loss
                self.engine.backward(loss)
                self.engine.step()
                losses.append(float(loss.detach()))
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
        bar.close()
        seconds = time.perf_counter() - start
        stats = torch.tensor([sum(losses), losses[0], losses[-1], float(tokens), float(positions)],
                             dtype=torch.float64)
        if self.world_size > 1:
            dist.all_reduce(stats)
            stats[:3] /= self.world_size
        steps = len(losses)
        return {
            "loss": float(stats[0]) / steps,
            "first_loss": float(stats[1]),
            "last_loss": float(stats[2]),
            "steps": steps,
            "tokens": int(stats[3]),
            "padding": float(stats[4] / stats[3]),
            "seconds": seconds,
            "tokens_per_s": float(stats[3]) / seconds if seconds > 0 else 0.0,
        }

    def _reset_optimizer(self) -> None:
        """Forget Adam's moments: each ``train`` call is one ReST improve step and starts its
        optimiser afresh, as a learner built for it would (torch's AdamW rebuilds an empty
        state at its next step; DeepSpeed's ZeRO and bf16 wrappers hold it as ``.optimizer``)."""
        optimizer = self.engine.optimizer
        getattr(optimizer, "optimizer", optimizer).state.clear()

    def weights(self) -> WeightArrays | None:
        """The policy's weights, by HF parameter name (the module's state dict), copied to
        numpy arrays (``to_arrays``: what crosses Ray's object store without further copies),
        on rank 0 (None on the others); a collective call: at ZeRO-3 every rank must make it
        (the gather).  A tied weight is there under both names: vLLM's in-place reload left a
        tied ``lm_head`` with its old values when only the embedding came (measured)."""
        if self.cfg.zero_stage == 3:
            state = self.engine._zero3_consolidated_16bit_state_dict()
        else:
            state = self.engine.module.state_dict() if self.rank == 0 else None
        return to_arrays(state) if self.rank == 0 else None

    def save_hf(self, out_dir: Path) -> Path:
        """Write the current weights as an HF dir (``write_checkpoint``: this learner's
        config and tokenizer files, safetensors) that vLLM and transformers load.  Rank 0
        writes; every rank must call it and returns after the write (barrier)."""
        import torch.distributed as dist

        weights = self.weights()
        if weights is not None:
            write_checkpoint(from_arrays(weights), self.model_dir, Path(out_dir))
        if self.world_size > 1:
            dist.barrier()
        return Path(out_dir)

    def close(self) -> None:
        """Free the engine; destroy the process group if this learner created it.  Drops the
        ZeRO-3 marker too: while it lives, every model transformers loads in this process
        would be built inside ``zero.Init``."""
        import gc

        self.engine = None
        self._hf_zero3 = None
        gc.collect()
        close_group(self._owns_process_group)
        self._owns_process_group = False


