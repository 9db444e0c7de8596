"""Encoding and padding (what the learner does per batch) on a character tokenizer
(hand-checkable) and on the real SmolLM2 one."""

import random

import torch

from visrep.policy.sft import IGNORE_INDEX, encode_example, length_grouped_order, pad_batch, pad_id_of


def build_batch(tokenizer, examples, max_len):
    return pad_batch([encode_example(tokenizer, p, c, max_len) for p, c in examples], pad_id_of(tokenizer))


class CharTokenizer:
    """One token per character (ord), BOS=1 prepended by default, EOS=2, PAD=0."""

    bos_token_id, eos_token_id, pad_token_id = 1, 2, 0

    def __call__(self, text, add_special_tokens=True):
        ids = [ord(c) for c in text]
        return {"input_ids": ([self.bos_token_id] + ids) if add_special_tokens else ids}


def test_labels_mask_exactly_the_prompt_and_padding():
    batch = build_batch(CharTokenizer(), [("ab", "cd"), ("a", "c")], max_len=16)
    # row 0: BOS a b | c d EOS ; row 1: BOS a | c EOS PAD PAD
    a, b, c, d = (ord(x) for x in "abcd")
    assert batch["input_ids"].tolist() == [[1, a, b, c, d, 2], [1, a, c, 2, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]
    m = IGNORE_INDEX
    assert batch["labels"].tolist() == [[m, m, m, c, d, 2], [m, m, c, 2, m, m]]


def test_too_long_prompt_is_cut_from_the_left_and_completion_kept():
    batch = build_batch(CharTokenizer(), [("abcdef", "xy")], max_len=5)
    x, y = ord("x"), ord("y")
    assert batch["input_ids"].tolist() == [[ord("e"), ord("f"), x, y, 2]]
    assert batch["labels"].tolist() == [[IGNORE_INDEX, IGNORE_INDEX, x, y, 2]]
    # A completion longer than max_len keeps its head, no prompt.
    batch = build_batch(CharTokenizer(), [("ab", "wxyz")], max_len=3)
    assert batch["labels"].tolist() == [[ord("w"), x, y]]


def test_real_tokenizer_labels_are_the_completion_tokens(tiny_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    prompt, completion = "# Task: count circles\ndef execute_command(image):\n", "    return 3\n"
    batch = build_batch(tok, [(prompt, completion), ("x", "y")], max_len=64)
    labels = batch["labels"][0]  # (T,)
    n_prompt = len(tok(prompt)["input_ids"])
    assert (labels[:n_prompt] == IGNORE_INDEX).all()
    kept = labels[labels != IGNORE_INDEX]
    assert kept[-1].item() == tok.eos_token_id
    assert tok.decode(kept[:-1]) == completion
    assert batch["input_ids"].dtype == torch.long
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape


def _padded_positions(lengths: list[int], order: list[int], batch: int) -> int:
    return sum(batch_len * max(lengths[i] for i in chunk)
               for chunk in (order[j:j + batch] for j in range(0, len(order), batch))
               for batch_len in [len(chunk)])


def test_length_grouped_order_is_a_seeded_shuffle_with_little_padding():
    rng = random.Random(0)
    lengths = [rng.choice([20, 30, 200, 400]) + rng.randrange(10) for _ in range(400)]
    order = length_grouped_order(lengths, batch_size=8, seed=3)
    assert sorted(order) == list(range(400))
    assert order == length_grouped_order(lengths, batch_size=8, seed=3)
    assert order != length_grouped_order(lengths, batch_size=8, seed=4)
    shuffled = list(range(400))
    random.Random(3).shuffle(shuffled)
    real = sum(lengths)
    # random order pads every batch to its longest member; grouped batches hardly pad
    assert _padded_positions(lengths, shuffled, 8) > 1.5 * real
    assert _padded_positions(lengths, order, 8) < 1.1 * real
