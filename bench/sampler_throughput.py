"""Sampling throughput: vLLM (``VllmSampler``) vs Hugging Face ``generate``, one run.

Same model, same prompts, same ``n``/``max_tokens``/temperature/top-p; generated tokens
per second of wall time (prompt processing included) for each, and their ratio:

    python bench/sampler_throughput.py --model tiny
    python bench/sampler_throughput.py --model smollm2 --prompts 32 --n 4 --max-tokens 64

HF runs first: the in-process vLLM CPU engine replaces ``torch.set_num_threads`` and pins
OpenMP threads for the rest of the process.  HF runs in ``--hf-dtype`` (fp32 by default,
the faster HF path on CPUs without AMX), vLLM in ``--dtype``.  On a machine with CUDA, vLLM
samples on the GPU and HF ``generate`` runs on ``--hf-device`` (the GPU by default there):

    python bench/sampler_throughput.py --model tiny --hf-dtype bfloat16    # scripts/gpu_tests.sh

``--no-vllm`` measures HF ``generate`` alone: the baseline on a machine without vLLM (a lent
GPU machine takes 64 MiB of carried packages, far under a vLLM wheel).

Prompts (``--prompts-from``): ``loop`` (default) is the self-training loop's own prompt (the task
alone) on the seed file's task texts, ``probe`` the few-shot probe's (the whole API and three
worked examples), ``synthetic`` a fixed short template.  The bound: a sampler must compute every
generated token and every prompt token once (prompts that share a prefix share its tokens:
what prefix caching and ``n`` children per prompt make possible), each at 2·N FLOPs (N the
model's parameters), so at the matmul peak of the dtype vLLM runs in (``bench/peak.py``,
measured in the same run) it could make at most peak / (2·N) · generated / (unique prompt +
generated) generated tokens per second.  The fraction of that bound is what is left to gain.

``--per-call N`` samples as the loop does, N prompts a call, and then the same calls queued
on the engine at once (a sampler fed continuously): measured on 96 loop prompts x 4 in bf16,
610.1 against 609.3 tok/s, so cutting grow into calls of 24 costs nothing standalone (the
loop's lower rate comes from elsewhere, not separated: likely the cores it shares with
execution and scoring), and the fed samples differ from the calls' (not investigated).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from peak import matmul_peak  # a sibling bench module; it imports visrep (its fixes) first

import visrep  # noqa: F401  (torchvision fix, offline hubs) before torch/vllm
from visrep.config import PolicyConfig, PromptConfig, SamplerConfig, WarmStartConfig
from visrep.hardware import default_device, resolve_dtype
from visrep.policy.models import resolve_model
from visrep.policy.sampling import VllmSampler, sampling_params
from visrep.programs.text import DEF_LINE, STOP
from visrep.selftrain.examples import config_seeds, prompt_for

TEMPLATE = ("# Task {i}: {q}\n# Use the visual API: find(image, name) -> list[ImagePatch], "
            "patch.exists(name), patch.verify_property(name, prop)\n"
            + DEF_LINE + "\n")
QUESTIONS = ["count the red circles", "is there a blue star left of a square?",
             "what colour is the large triangle?", "find all green shapes with stripes"]


PROMPT_SOURCES = ("loop", "probe", "synthetic")


def make_prompts(count: int, source: str = "synthetic") -> list[str]:
    """``count`` prompts from ``source`` (``PROMPT_SOURCES``), the seed tasks cycled in order."""
    if source == "synthetic":
        return [TEMPLATE.format(i=i, q=QUESTIONS[i % len(QUESTIONS)]) for i in range(count)]
    seeds = config_seeds(WarmStartConfig().seeds_file)  # the default profile's seed programs
    prompt = PromptConfig() if source == "loop" else WarmStartConfig().probe_prompt
    return [prompt_for(seeds[i % len(seeds)].kind, seeds[i % len(seeds)].text, seeds, prompt)
            for i in range(count)]


def unique_prompt_tokens(token_ids: list[list[int]]) -> int:
    """Tokens a sampler must compute for these prompts when shared prefixes are computed once:
    the nodes of their prefix tree (sorted, each adds its length past the common prefix with
    the one before it; that neighbour shares the longest prefix of all earlier ones)."""
    total, previous = 0, []
    for ids in sorted(token_ids):
        common = 0
        while common < min(len(ids), len(previous)) and ids[common] == previous[common]:
            common += 1
        total += len(ids) - common
        previous = ids
    return total


def bound_tokens_per_s(peak_flops: float, params: int, prompt_tokens: int, generated: int) -> float:
    """Generated tokens per second at ``peak_flops`` when each must-compute token (``prompt_tokens``
    unique ones + ``generated``) costs 2·``params`` FLOPs."""
    return peak_flops / (2 * params) * generated / (prompt_tokens + generated)


def hf_tokens_per_s(model_dir: Path, prompts: list[str], n: int, max_tokens: int,
                    temperature: float, top_p: float, top_k: int, dtype: str,
                    batch: int, device: str = "cpu") -> tuple[float, int]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).to(device).eval()
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    # One untimed call, as vLLM gets its warm-up: the first generate pays one-off costs (CUDA
    # context and cuBLAS handles, kernel selection) that no later call does.
    with torch.no_grad():
        model.generate(**tok(prompts[:1], return_tensors="pt").to(device), max_new_tokens=4,
                       do_sample=False, pad_token_id=pad)
    generated = 0
    start = time.perf_counter()
    for i in range(0, len(prompts), batch):
        enc = tok(prompts[i:i + batch], return_tensors="pt", padding=True).to(device)  # (B, T)
        with torch.no_grad():
            out = model.generate(**enc, do_sample=True, temperature=temperature, top_p=top_p,
                                 top_k=top_k, max_new_tokens=max_tokens, num_return_sequences=n,
                                 pad_token_id=pad)  # (B*n, T + new)
        new = out[:, enc["input_ids"].shape[1]:]  # (B*n, new)
        # Count tokens up to and including the first EOS of each row (the rest is padding).
        for row in new.tolist():
            generated += next((j + 1 for j, t in enumerate(row) if t == tok.eos_token_id), len(row))
    return generated / (time.perf_counter() - start), generated


Cut = dict[int, tuple[float, int, float, bool]]  # size: (tok/s, tokens, tok/s fed, same samples)


def fed(engine, calls: list[tuple[list[str], list]]) -> tuple[list[list[str]], int, float]:
    """Every call's requests queued on one engine at once and stepped until all finish: what
    a sampler fed continuously would do with the calls the loop queues on it one by one.
    Returns each prompt's completion texts (in call order), the tokens generated and the seconds.
    Each request reports only its final output, as ``LLM.generate`` sets it (the default,
    cumulative, re-detokenizes every running sequence at every step)."""
    from vllm.sampling_params import RequestOutputKind

    texts: dict[str, list[str]] = {}
    tokens = 0
    start = time.perf_counter()
    for c, (prompts, params) in enumerate(calls):
        for i, (prompt, sp) in enumerate(zip(prompts, params)):
            sp.output_kind = RequestOutputKind.FINAL_ONLY
            engine.add_request(f"{c}-{i}", prompt, sp)
    while engine.has_unfinished_requests():
        for out in engine.step():
            if out.finished:
                texts[out.request_id] = [o.text for o in out.outputs]
                tokens += sum(len(o.token_ids) for o in out.outputs)
    seconds = time.perf_counter() - start
    order = [texts[f"{c}-{i}"] for c, (prompts, _) in enumerate(calls) for i in range(len(prompts))]
    return order, tokens, seconds


def vllm_tokens_per_s(model_dir: Path, policy: PolicyConfig, prompts: list[str], n: int,
                      max_tokens: int, temperature: float, top_p: float,
                      top_k: int, per_call: list[int]) -> tuple[float, int, Cut]:
    """(tok/s, tokens) of all prompts in one call without stop strings (what HF is compared
    on), and per entry of ``per_call`` the same prompts sampled as the loop's grow phase
    does: that many prompts per call, each completion stopped at its program's end
    (``STOP``), one call after the other and then all calls fed to the engine at once
    (``fed``: its rate, and whether it sampled exactly the same programs); one engine for
    all, so the calls differ only in how they are cut."""
    sampler = VllmSampler(model_dir, policy, SamplerConfig(), seed=0)
    try:
        sampler.sample(prompts[:2], n=1, temperature=temperature, top_p=top_p, max_tokens=4,
                       seed=0, stop=[])  # warm-up
        out = sampler.sample(prompts, n=n, temperature=temperature, top_p=top_p,
                             max_tokens=max_tokens, seed=0, stop=[], top_k=top_k)
        whole = sampler.tokens_per_s, sum(c.num_tokens for row in out for c in row)
        cut: Cut = {}
        for size in per_call:
            tokens, texts, start = 0, [], time.perf_counter()
            for i in range(0, len(prompts), size):
                rows = sampler.sample(prompts[i:i + size], n=n, temperature=temperature, top_p=top_p,
                                      max_tokens=max_tokens, seed=i, stop=STOP, top_k=top_k)
                tokens += sum(c.num_tokens for row in rows for c in row)
                texts += [[c.text for c in row] for row in rows]
            rate = tokens / (time.perf_counter() - start)
            calls = [(prompts[i:i + size], sampling_params(len(prompts[i:i + size]), n, temperature, top_p,
                                                           max_tokens, i, STOP, top_k))
                     for i in range(0, len(prompts), size)]
            fed_texts, fed_tokens, seconds = fed(sampler._llm.llm_engine, calls)
            cut[size] = rate, tokens, fed_tokens / seconds, fed_texts == texts
        return *whole, cut
    finally:
        sampler.close()


def model_facts(model_dir: Path, prompts: list[str]) -> tuple[int, int, int]:
    """(parameters, prompt tokens, unique prompt tokens) of the model and these prompts."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    with torch.device("meta"):
        params = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir)).num_parameters()
    ids = AutoTokenizer.from_pretrained(model_dir)(prompts)["input_ids"]
    return params, sum(len(i) for i in ids), unique_prompt_tokens(ids)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny", help="tiny | smollm2 | HF model dir")
    ap.add_argument("--cache-dir", default=".cache/models")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--prompts-from", choices=PROMPT_SOURCES, default="loop")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-p", type=float, default=SamplerConfig.top_p)
    ap.add_argument("--top-k", type=int, default=SamplerConfig.top_k, help="0: off")
    ap.add_argument("--dtype", default="auto", help="vLLM dtype: auto (from the hardware), bfloat16, float32")
    ap.add_argument("--hf-dtype", default="float32")
    ap.add_argument("--hf-batch", type=int, default=32, help="prompts per HF generate call")
    ap.add_argument("--hf-device", default=default_device(), help="cpu | cuda (vLLM: CUDA wherever there is one)")
    ap.add_argument("--no-vllm", action="store_true", help="HF generate only (no vLLM installed)")
    ap.add_argument("--per-call", type=int, action="append", default=[],
                    help="also sample as the loop does: this many prompts per call, stopped at the program's end "
                         "(repeatable; the loop's grow takes sampler.batch_tasks)")
    args = ap.parse_args(argv)

    policy = PolicyConfig(model=args.model, dtype=args.dtype, max_model_len=2048)
    model_dir = resolve_model(policy, Path(args.cache_dir))
    prompts = make_prompts(args.prompts, args.prompts_from)
    params, prompt_tokens, unique = model_facts(model_dir, prompts)
    dtype = resolve_dtype(args.dtype)
    peak = matmul_peak(dtype)  # before vLLM binds this process's threads; HF gets the same ones
    hf, hf_tokens = hf_tokens_per_s(model_dir, prompts, args.n, args.max_tokens,
                                    args.temperature, args.top_p, args.top_k, args.hf_dtype, args.hf_batch,
                                    args.hf_device)
    setting = (f"sampler throughput ({args.model}, {params / 1e6:.1f} M params, {args.prompts} {args.prompts_from} "
               f"prompts x n={args.n}, max_tokens={args.max_tokens}, T={args.temperature}, top_p={args.top_p}, "
               f"top_k={args.top_k}; prompt tokens {prompt_tokens}, {unique} after prefix sharing)")
    hf_line = f"  HF generate ({args.hf_dtype}, {args.hf_device}): {hf:8.1f} tok/s ({hf_tokens} tokens)"
    if args.no_vllm:
        print(f"{setting}, HF batch {args.hf_batch} prompts:")
        print(hf_line)
        return 0
    vl, vl_tokens, cut = vllm_tokens_per_s(model_dir, policy, prompts, args.n, args.max_tokens,
                                           args.temperature, args.top_p, args.top_k, args.per_call)
    bound = bound_tokens_per_s(peak, params, unique, vl_tokens)
    print(f"{setting}: vLLM/HF = {vl / hf:.2f}x, vLLM at {vl / bound:.1%} of its bound")
    print(f"  vLLM ({dtype}, {default_device()}):   {vl:8.1f} tok/s ({vl_tokens} tokens)")
    print(hf_line)
    print(f"  bound ({dtype} matmul peak {peak / 1e9:.1f} GFLOP/s, 2*N FLOPs a token, {unique} + {vl_tokens} "
          f"tokens to compute): {bound:8.1f} tok/s")
    for size, (rate, tokens, fed_rate, same) in cut.items():
        calls = -(-len(prompts) // size)
        size_bound = bound_tokens_per_s(peak, params, unique, tokens)
        print(f"  vLLM as the loop samples, {size} prompts a call ({calls} calls), stopped at the program's end: "
              f"{rate:8.1f} tok/s ({tokens} tokens), {rate / size_bound:.1%} of its bound; the same calls fed to "
              f"the engine at once: {fed_rate:8.1f} tok/s ({fed_rate / size_bound:.1%}), "
              f"{'the same' if same else 'NOT the same'} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
