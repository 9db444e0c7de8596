"""Supervised fine-tuning batches: loss on the program tokens only.

A training example is ``(prompt, completion)``: the prompt exactly as the sampler saw it,
the completion the program it produced (or a seed program).  Prompt and completion are
tokenised separately — the way vLLM saw them: prompt tokens (with the tokenizer's default
special tokens, as vLLM adds them), then the sampled completion tokens — and an EOS closes
the completion so the policy learns to stop.
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100  # label value ignored by the cross-entropy loss

# Batch keys (the HF forward's argument names).
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
LABELS = "labels"


def encode_example(tokenizer, prompt: str, completion: str, max_len: int) -> tuple[list[int], int]:
    """Token ids of prompt + completion + EOS (≤ ``max_len``) and the prompt's length in them.

    Too long: the prompt loses tokens from its LEFT (its start: the oldest few-shot
    examples), the completion is kept; a completion alone longer than ``max_len`` keeps its
    first ``max_len`` tokens (no prompt, no EOS).
    """
    prompt_ids = tokenizer(prompt)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        completion_ids = completion_ids + [tokenizer.eos_token_id]
    if len(completion_ids) >= max_len:
        return completion_ids[:max_len], 0
    keep = max_len - len(completion_ids)
    prompt_ids = prompt_ids[-keep:] if len(prompt_ids) > keep else prompt_ids
    return prompt_ids + completion_ids, len(prompt_ids)


def pad_id_of(tokenizer) -> int:
    """The id right padding uses (EOS where the tokenizer has no pad token: masked anyway)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def pad_batch(encoded: list[tuple[list[int], int]], pad_id: int) -> dict[str, torch.Tensor]:
    """``encode_example`` outputs as one right-padded batch with ``labels = -100`` on prompt
    tokens and padding: ``input_ids``, ``attention_mask``, ``labels``, each ``(B, T)`` with
    ``T`` the longest example.  The learner encodes its examples once and pads each batch."""
    if not encoded:
        raise ValueError("pad_batch: no examples")
    T = max(len(ids) for ids, _ in encoded)
    B = len(encoded)
    input_ids = torch.full((B, T), pad_id, dtype=torch.long)  # (B, T)
    attention_mask = torch.zeros((B, T), dtype=torch.long)  # (B, T)
    labels = torch.full((B, T), IGNORE_INDEX, dtype=torch.long)  # (B, T)
    for row, (ids, n_prompt) in enumerate(encoded):
        n = len(ids)
        input_ids[row, :n] = torch.tensor(ids)
        attention_mask[row, :n] = 1
        labels[row, n_prompt:n] = torch.tensor(ids[n_prompt:])
    return {INPUT_IDS: input_ids, ATTENTION_MASK: attention_mask, LABELS: labels}


def length_grouped_order(lengths: list[int], batch_size: int, seed: int) -> list[int]:
    """A shuffled order of the examples in which every ``batch_size`` consecutive ones have
    similar lengths (transformers' length grouping: shuffle, then sort within mega-batches).

    Why: a right-padded batch computes its longest example's length for every row (the
    warm start's seeds in random batches of 8: 1.4x the real tokens).  Below 4 batches of
    examples there is one mega-batch per batch, i.e. no grouping."""
    from transformers.trainer_pt_utils import get_length_grouped_indices

    generator = torch.Generator().manual_seed(seed)
    return list(get_length_grouped_indices(lengths, batch_size, generator=generator))
