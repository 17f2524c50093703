"""Frozen stays frozen (from_pretrained, post_init, PEFT, a plain transformers.Trainer step); attention backends for
both sub-models, including the per-sub-model dict; boundary embeddings on the inputs_embeds path."""

import pytest
import torch
from transformers import Trainer, TrainingArguments

from entry_points import chat_inputs, param_snapshot, saved_folder, short_chat, small_bioreason
from modeling_bioreason import BioReasonForConditionalGeneration

BATCH = [short_chat(["ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGGTTACA"]),
         short_chat(["GATTACAGATTACAGATTACAGATTACA"], "Another question?")]


@pytest.fixture(scope="module")
def folder(tmp_path_factory, encoder_kind):
    return saved_folder(tmp_path_factory.mktemp("freeze"), encoder_kind)


def _encoder_trainable(model) -> int:
    return sum(p.numel() for p in model.model.dna_encoder.parameters() if p.requires_grad)


def test_freeze_holds_after_from_pretrained_and_post_init(folder):
    model = BioReasonForConditionalGeneration.from_pretrained(folder)
    assert model.config.freeze_dna_encoder and _encoder_trainable(model) == 0
    model.post_init()
    assert _encoder_trainable(model) == 0
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert model.num_parameters(only_trainable=True) == trainable > 0
    assert model.num_parameters() - trainable == sum(p.numel() for p in model.model.dna_encoder.parameters())

    model.config.freeze_dna_encoder = False
    model.save_pretrained(folder.parent / "unfrozen")
    unfrozen = BioReasonForConditionalGeneration.from_pretrained(folder.parent / "unfrozen")
    assert _encoder_trainable(unfrozen) == unfrozen.model.dna_encoder.num_parameters()


def test_plain_trainer_bf16_step_leaves_the_encoder_bit_identical(folder, encoder_kind, tmp_path):
    _, processor = small_bioreason(encoder_kind)
    model = BioReasonForConditionalGeneration.from_pretrained(folder)
    messages = [m + [{"role": "assistant", "content": "<think>\nreasons\n</think>\n\nAnswer: ALS"}] for m in BATCH]
    batch = processor.apply_chat_template(messages, tokenize=True, return_dict=True, return_tensors="pt",
                                          return_assistant_tokens_mask=True)
    rows = [{k: v[i] for k, v in batch.items() if k != "assistant_masks"} for i in range(2)]
    encoder_before, projector_before = param_snapshot(model.model.dna_encoder), param_snapshot(model.model.dna_projector)
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=2, max_steps=1, learning_rate=1e-2,
                             bf16=True, use_cpu=True, report_to="none", save_strategy="no", logging_strategy="no",
                             remove_unused_columns=False)
    Trainer(model=model, args=args, train_dataset=rows, data_collator=lambda b: {
        k: torch.stack([r[k] for r in b]) for k in b[0]}).train()
    assert all(torch.equal(p, encoder_before[n]) for n, p in model.model.dna_encoder.named_parameters())
    assert any(not torch.equal(p, projector_before[n]) for n, p in model.model.dna_projector.named_parameters())


@pytest.mark.parametrize("target_modules", ["all-linear", ["q_proj", "v_proj"]])
def test_freeze_holds_after_peft_wrapping(folder, encoder_kind, target_modules):
    from peft import LoraConfig, get_peft_model

    _, processor = small_bioreason(encoder_kind)
    model = BioReasonForConditionalGeneration.from_pretrained(folder)
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=target_modules,
                                                  modules_to_save=["dna_projector"], init_lora_weights=False))
    assert all(not p.requires_grad for n, p in peft_model.named_parameters()
               if ".dna_encoder." in n and "lora_" not in n)
    base = peft_model.get_base_model()
    encoder_lora = sum(p.numel() for n, p in base.named_parameters() if ".dna_encoder." in n and p.requires_grad)
    trainable = sum(p.numel() for p in base.parameters() if p.requires_grad)
    assert base.num_parameters(only_trainable=True) == trainable - encoder_lora
    inputs = chat_inputs(processor, BATCH)
    before = param_snapshot(base.model.dna_encoder)
    features_before = base.get_dna_features(inputs["dna_input_ids"], inputs["dna_attention_mask"]).detach()
    peft_model.train()
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    peft_model(**inputs, labels=inputs["input_ids"]).loss.backward()
    optimizer.step()
    # LoRA adapters that "all-linear" put inside the frozen encoder receive no gradient: the encoder is unchanged.
    assert all(torch.equal(p, before[n]) for n, p in base.model.dna_encoder.named_parameters())
    hidden = base.model.dna_encoder(inputs["dna_input_ids"][0], inputs["dna_attention_mask"][0]).last_hidden_state
    assert torch.isfinite(hidden).all() and features_before.shape[:3] == inputs["dna_input_ids"].shape


@torch.no_grad()
@pytest.mark.parametrize("trained", [False, True])
def test_inputs_embeds_built_the_documented_way_equal_input_ids(encoder_kind, trained):
    """`embed_tokens_with_dna_boundaries` is the one way to build inputs_embeds; placeholders are found in them whether
    or not the new token rows (all one mean after build_bioreason) and boundary embeddings were trained apart."""
    model, processor = small_bioreason(encoder_kind)
    model = BioReasonForConditionalGeneration(model.config).eval()
    model.load_state_dict(small_bioreason(encoder_kind)[0].state_dict())
    if trained:
        torch.nn.init.normal_(model.model.dna_boundary_embeddings.weight)
    inputs = chat_inputs(processor, BATCH)
    by_ids = model(**inputs).logits
    embeds = model.embed_tokens_with_dna_boundaries(inputs["input_ids"])
    dna = {k: inputs[k] for k in ("attention_mask", "dna_input_ids", "dna_attention_mask")}
    torch.testing.assert_close(model(inputs_embeds=embeds, **dna).logits, by_ids)
    generated = model.generate(**inputs, max_new_tokens=3, do_sample=False)[:, -3:]
    assert torch.equal(model.generate(inputs_embeds=embeds, max_new_tokens=3, do_sample=False, **dna), generated)
    if trained:  # plain token embeddings lack the trained boundary: here the rows are ambiguous, and that is an error
        plain = model.get_input_embeddings()(inputs["input_ids"])
        with pytest.raises(ValueError, match="DNA placeholders and DNA features do not match"):
            model(inputs_embeds=plain, **dna)


@torch.no_grad()
@pytest.mark.parametrize("attn", ["sdpa", "flex_attention",
                                  {"text_config": "sdpa", "dna_config": "eager"}])
def test_attention_backends_for_both_sub_models(folder, encoder_kind, attn):
    model, processor = small_bioreason(encoder_kind)
    if attn == "flex_attention" and not model.model.dna_encoder._supports_flex_attn:
        # Evo 2's attention is causal by construction, without a mask flex could be given: refused, naming it
        with pytest.raises(ValueError, match=f"{type(model.model.dna_encoder).__name__} does not support .*flex"):
            BioReasonForConditionalGeneration.from_pretrained(folder, attn_implementation=attn)
        return
    reference = BioReasonForConditionalGeneration.from_pretrained(folder, attn_implementation="eager").eval()
    model = BioReasonForConditionalGeneration.from_pretrained(folder, attn_implementation=attn).eval()
    expected = attn if isinstance(attn, dict) else {"text_config": attn, "dna_config": attn}
    assert model.config.text_config._attn_implementation == expected["text_config"]
    assert model.config.dna_config._attn_implementation == expected["dna_config"]
    assert model.model.dna_encoder.config._attn_implementation == expected["dna_config"]
    inputs = chat_inputs(processor, BATCH)
    real = inputs["attention_mask"].bool()  # left-padding positions are free to differ between backends
    torch.testing.assert_close(model(**inputs).logits[real], reference(**inputs).logits[real], atol=1e-4, rtol=1e-4)
    if attn != "flex_attention":  # flex compiles a kernel per shape on CPU: one forward is enough there
        features = model.get_dna_features(inputs["dna_input_ids"], inputs["dna_attention_mask"])
        expected_features = reference.get_dna_features(inputs["dna_input_ids"], inputs["dna_attention_mask"])
        torch.testing.assert_close(features, expected_features, atol=1e-5, rtol=1e-5)


def test_flash_attention_is_not_claimed_for_the_dna_encoder(folder):
    with pytest.raises((ValueError, ImportError)):
        BioReasonForConditionalGeneration.from_pretrained(folder, attn_implementation="flash_attention_2")
