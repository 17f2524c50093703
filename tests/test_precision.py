"""Mixed precision on CPU: bf16 autocast (forward, generate, a training step) and models loaded in bf16 / fp16.
DNA features take the dtype of the text embeddings they are merged into."""

import pytest
import torch

from entry_points import chat_inputs, saved_folder, short_chat, small_bioreason
from modeling_bioreason import BioReasonForConditionalGeneration

BATCH = [short_chat(["ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGGTTACA"]),
         short_chat(["GATTACAGATTACAGATTACAGATTACA"], "Another question?")]


def _merged_dtypes(model):
    """Record the dtypes of the text embeddings and the DNA features at the merge."""
    seen = {}
    original = model.model.get_placeholder_mask

    def spy(input_ids, inputs_embeds, dna_attention_mask):
        seen["text"] = inputs_embeds.dtype
        return original(input_ids, inputs_embeds, dna_attention_mask)

    model.model.get_placeholder_mask = spy
    return seen


@torch.no_grad()
def test_bf16_autocast_forward_and_generate_match_fp32(encoder_kind):
    model, processor = small_bioreason(encoder_kind)
    inputs = chat_inputs(processor, BATCH)
    expected = model(**inputs).logits
    greedy = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        features = model.get_dna_features(inputs["dna_input_ids"], inputs["dna_attention_mask"])
        logits = model(**inputs).logits
        generated = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert features.dtype == torch.bfloat16  # the projector's autocast output, no fp32 copy
    assert (logits.float() - expected).abs().max() < 0.1 * expected.abs().max()
    assert generated.shape == greedy.shape and torch.equal(generated[:, :-4], greedy[:, :-4])


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@torch.no_grad()
def test_loaded_in_half_precision_forward_and_generate(tmp_path_factory, encoder_kind, dtype):
    model, processor = small_bioreason(encoder_kind)
    folder = saved_folder(tmp_path_factory.getbasetemp() / "precision", encoder_kind)
    half = BioReasonForConditionalGeneration.from_pretrained(folder, dtype=dtype).eval()
    # Everything in `dtype` but what the encoder keeps in fp32 (Evo 2's long-filter poles and residues)
    kept = tuple(getattr(type(half.model.dna_encoder), "_keep_in_fp32_modules_strict", None) or ())
    dtypes = {name: p.dtype for name, p in half.named_parameters()}
    assert {d for name, d in dtypes.items() if not any(k in name.split(".") for k in kept)} == {dtype}
    assert {d for name, d in dtypes.items() if any(k in name.split(".") for k in kept)} <= {torch.float32}
    seen = _merged_dtypes(half)
    inputs = chat_inputs(processor, BATCH)
    features = half.get_dna_features(inputs["dna_input_ids"], inputs["dna_attention_mask"])
    logits = half(**inputs).logits
    assert features.dtype == dtype and seen["text"] == dtype and logits.dtype == dtype
    expected = model(**inputs).logits
    assert torch.isfinite(logits).all() and (logits.float() - expected).abs().max() < 0.1 * expected.abs().max()
    generated = half.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert generated.shape == (2, inputs["input_ids"].shape[1] + 3)


def test_bf16_autocast_training_step_updates_trainable_parameters_only(encoder_kind):
    torch.manual_seed(0)
    model, processor = small_bioreason(encoder_kind)
    model = BioReasonForConditionalGeneration(model.config).train()  # a fresh copy to train
    model.load_state_dict(small_bioreason(encoder_kind)[0].state_dict())
    messages = [m + [{"role": "assistant", "content": "<think>\nreasons\n</think>\n\nAnswer: ALS"}] for m in BATCH]
    batch = processor.apply_chat_template(messages, tokenize=True, return_dict=True, return_tensors="pt",
                                          return_assistant_tokens_mask=True)
    batch.pop("assistant_masks")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(**batch).loss
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    optimizer.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert "model.dna_projector.linear_1.weight" in changed
    assert not any(n.startswith("model.dna_encoder.") for n in changed)
