"""Real example rows and a tiny, untrained BioReason for demonstrations and tests.

`example_data/` holds real rows copied from the project's shared data (provenance in `example_data/PROVENANCE.md`):
six KEGG test rows and twelve ClinVar 1,024-bp windows.
"""

from __future__ import annotations

import json
from importlib.resources import files

import torch
from transformers import AddedToken, PreTrainedTokenizerBase, Qwen3Config, Qwen3ForCausalLM

from .build import build_bioreason
from .dna_encoders import random_dna_encoder

EXAMPLE_FILES = {"kegg": "kegg_test_rows_6.jsonl", "clinvar": "clinvar_windows_rows_12.jsonl"}

# What a user runs to load a saved folder and ask about a variant; it imports only transformers, so running it in a
# fresh process proves the folder's remote code works on its own.
LOAD_AND_ASK = '''\
import json, sys
from transformers import AutoModelForCausalLM, AutoProcessor

# argv: folder, a JSON list of rows, max_new_tokens; prints one JSON line per row as it is answered
folder, rows = sys.argv[1], json.loads(sys.argv[2])
model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
for row in rows:
    messages = [{"role": "user", "content": [
        {"type": "dna", "sequence": row["reference_sequence"]},
        {"type": "dna", "sequence": row["variant_sequence"]},
        {"type": "text", "text": row["question"]},
    ]}]
    inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                           return_tensors="pt")
    output = model.generate(**inputs, max_new_tokens=int(sys.argv[3]), do_sample=False)
    completion = output[:, inputs["input_ids"].shape[1]:]
    print(json.dumps({"model_class": type(model).__module__ + "." + type(model).__name__,
                      "dna_placeholders": int((inputs["input_ids"] == model.config.dna_token_id).sum()),
                      "raw": processor.batch_decode(completion, skip_special_tokens=False)[0],
                      **processor.post_process_generation(completion)[0]}), flush=True)
'''


def load_example_rows(kind: str = "kegg") -> list[dict]:
    """Real example rows: `kind="kegg"` (KEGG test rows 0-4 and 22) or `"clinvar"` (12 ClinVar windows)."""
    if kind not in EXAMPLE_FILES:
        raise ValueError(f"kind={kind!r}; expected one of {sorted(EXAMPLE_FILES)}.")
    text = files("modeling_bioreason").joinpath("example_data", EXAMPLE_FILES[kind]).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def tiny_tokenizer(vocab_size: int = 4096) -> PreTrainedTokenizerBase:
    """
    A small byte-level BPE tokenizer with Qwen3's added tokens, trained (deterministically, in about a second) on the
    text of the example KEGG rows. For fast tests and smoke runs: a 151k-token vocabulary makes every LM-head pass
    on CPU slow. Same pre-tokenizer as Qwen2/Qwen3, chat template tokens included.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from .pretrained_assets import QWEN3_ADDED_TOKENS

    corpus = [text for row in load_example_rows("kegg") for text in (row["question"], row["reasoning"], row["answer"])]
    corpus += ["<think>\n\n</think>\n\nAnswer: ", "Answer: pathogenic", "Answer: benign"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[token for token, _ in QWEN3_ADDED_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        model_max_length=131072)
    tokenizer.add_tokens([AddedToken(t, special=special, normalized=False) for t, special in QWEN3_ADDED_TOKENS])
    return tokenizer


def tiny_bioreason(
    tokenizer: PreTrainedTokenizerBase,
    seed: int = 0,
    text_hidden: int = 64,
    text_layers: int = 2,
    dna_hidden: int = 32,
    dna_layers: int = 2,
    dna_encoder: str = "nt-v2",
):
    """
    A small random Qwen3 + DNA-encoder BioReason over `tokenizer` (e.g. the real Qwen3 one); `dna_encoder` names
    the encoder kind (`random-<kind>` in recipes; default NT-v2). Untrained: for plumbing, tests and benchmarks.
    `text_hidden=256, text_layers=4, dna_hidden=128` is the original code's benchmark size.
    """
    torch.manual_seed(seed)
    heads = max(4, text_hidden // 64)
    text_config = Qwen3Config(
        hidden_size=text_hidden, intermediate_size=3 * text_hidden, num_hidden_layers=text_layers,
        num_attention_heads=heads, num_key_value_heads=heads // 2, head_dim=text_hidden // heads,
        vocab_size=len(tokenizer) + 3, tie_word_embeddings=True, max_position_embeddings=8192,
        eos_token_id=tokenizer.eos_token_id,
    )
    text_model = Qwen3ForCausalLM(text_config)
    encoder = random_dna_encoder(f"random-{dna_encoder}:{dna_hidden}x{dna_layers}")
    return build_bioreason(text_model, encoder, tokenizer=tokenizer)
