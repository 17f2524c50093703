"""BioReason model: merge correctness under batching and generation, DNA reuse, errors, dtypes, other LMs."""

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from conftest import ENCODER_KINDS, decoder_passes, kegg_user_messages, short_messages
from modeling_bioreason import (
    BioReasonConfig,
    BioReasonForConditionalGeneration,
    NucleotideTransformerConfig,
    NucleotideTransformerModel,
    build_bioreason,
)


def _inputs(processor, batch, **kwargs):
    return processor.apply_chat_template(batch, add_generation_prompt=True, tokenize=True, return_dict=True,
                                         return_tensors="pt", **kwargs)


@torch.no_grad()
def test_greedy_generate_equals_manual_no_cache_loop(tiny):
    model, processor = tiny
    inputs = _inputs(processor, short_messages(["ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGATTACC"]))
    generated = model.generate(**inputs, max_new_tokens=6, do_sample=False, min_new_tokens=6)
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    for _ in range(6):  # re-merge the DNA at every step, no cache
        logits = model(input_ids=ids, attention_mask=mask, dna_input_ids=inputs["dna_input_ids"],
                       dna_attention_mask=inputs["dna_attention_mask"], use_cache=False).logits[:, -1]
        logits[:, processor.tokenizer.eos_token_id] = -float("inf")  # as min_new_tokens does
        next_id = logits.argmax(-1, keepdim=True)
        ids, mask = torch.cat([ids, next_id], 1), torch.cat([mask, torch.ones_like(next_id)], 1)
    assert torch.equal(generated, ids)


@torch.no_grad()
def test_num_return_sequences_copies_share_first_step_logits(tiny):
    model, processor = tiny
    inputs = _inputs(processor, short_messages(["ACGTACGTTTGACAGATTACA", "GGGTACGTTTGACAGATTACA"]))
    out = model.generate(**inputs, max_new_tokens=2, do_sample=True, num_return_sequences=2, output_logits=True,
                         return_dict_in_generate=True)
    first = out.logits[0]
    assert first.shape[0] == 2 and torch.equal(first[0], first[1])
    alone = model(**inputs).logits[0, -1]
    torch.testing.assert_close(first[0], alone, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_left_padded_batch_matches_each_prompt_alone(tiny_of_kind):
    model, processor = tiny_of_kind  # text left-padded, DNA right-padded (Evo 2 is causal: padding changes nothing)
    prompts = [short_messages(["ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGGTTACA"]),
               short_messages(["GATTACAGATTACAGATTACAGATTACA"], "A different and longer question about one window?")]
    batch = _inputs(processor, prompts)
    assert batch["dna_input_ids"].shape[1] == 2
    batch_logits = model(**batch).logits
    for row, prompt in enumerate(prompts):
        alone = _inputs(processor, prompt)
        alone_logits = model(**alone).logits[0]
        n = alone["input_ids"].shape[1]
        torch.testing.assert_close(batch_logits[row, -n:], alone_logits, atol=1e-4, rtol=1e-4)
    generated = model.generate(**batch, max_new_tokens=4, do_sample=False)
    for row, prompt in enumerate(prompts):
        alone = _inputs(processor, prompt)
        assert torch.equal(model.generate(**alone, max_new_tokens=4, do_sample=False)[0, -4:], generated[row, -4:])


def _generate_with_and_without_prefill(model, batch, monkeypatch):
    """(prefill forwards, outputs) of generate as shipped, then of plain GenerationMixin prefill; greedy and sampled."""
    kwargs = dict(max_new_tokens=5, min_new_tokens=5, output_logits=True, return_dict_in_generate=True)
    outputs, calls = [], []
    with decoder_passes(model.model.language_model) as rows_run:
        for prefill in (True, False):
            with monkeypatch.context() as patch:
                if not prefill:
                    patch.setattr(BioReasonForConditionalGeneration, "_prefill_prompts", lambda *a: None)
                rows_run.clear()
                greedy = model.generate(**batch, do_sample=False, **kwargs)
                calls.append(list(rows_run))
                torch.manual_seed(0)
                sampled = model.generate(**batch, do_sample=True, top_k=0, **kwargs).sequences
                outputs.append((greedy, sampled))
    (greedy, sampled), (plain_greedy, plain_sampled) = outputs
    assert torch.equal(greedy.sequences, plain_greedy.sequences) and torch.equal(sampled, plain_sampled)
    for step, plain_step in zip(greedy.logits, plain_greedy.logits):
        torch.testing.assert_close(step, plain_step, atol=1e-5, rtol=1e-5)
    return calls


@torch.no_grad()
def test_repeated_and_padded_prompts_prefill_once_each_with_the_same_tokens(tiny, monkeypatch):
    """GRPO's G samples of a prompt and left-padded batches: one unpadded prefill per distinct prompt, same tokens."""
    model, processor = tiny
    a = short_messages(["ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGGTTACA"])
    a_other_dna = short_messages(["ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGGTTACC"])  # same ids, other DNA
    b = short_messages(["GATTACAGATTACAGATTACAGATTACA"], "A different and longer question about one window?")
    batch = _inputs(processor, [a, a, b, a, a_other_dna])
    assert torch.equal(batch["input_ids"][0], batch["input_ids"][4]) and (batch["attention_mask"] == 0).any()
    (calls, plain_calls) = _generate_with_and_without_prefill(model, batch, monkeypatch)
    length = batch["input_ids"].shape[1]
    unpadded = batch["attention_mask"][:, :-1].sum(-1).tolist()
    # a, b and a-with-other-DNA, each alone and without padding; then the 5 rows step by step
    assert calls == [(1, unpadded[0]), (1, unpadded[2]), (1, unpadded[4])] + [(5, 1)] * 5
    assert plain_calls == [(5, length)] + [(5, 1)] * 4

    same_length = _inputs(processor, [a, a_other_dna, a])  # no padding: the distinct prompts in one batch
    assert bool(same_length["attention_mask"].all())
    calls, _ = _generate_with_and_without_prefill(model, same_length, monkeypatch)
    assert calls == [(2, same_length["input_ids"].shape[1] - 1)] + [(3, 1)] * 5


@torch.no_grad()
def test_generate_settings_that_rule_out_a_shared_prefill_still_work(tiny):
    """What generate resolves from the model's defaults and from TRL's passed config: beams or copies per prompt,
    a cache implementation; the prefill steps aside and generate behaves as documented."""
    from transformers import GenerationConfig

    model, processor = tiny
    batch = _inputs(processor, [short_messages(["ACGTACGTTTGACAGATTACA"])] * 2)
    out = model.generate(**batch, max_new_tokens=2, do_sample=False, cache_implementation="dynamic")
    assert out.shape == (2, batch["input_ids"].shape[1] + 2)
    saved = model.generation_config.num_return_sequences
    model.generation_config.num_return_sequences = 2
    try:  # a passed config leaves the field unset: generate takes the model's default of 2 copies per prompt
        out = model.generate(**batch, generation_config=GenerationConfig(max_new_tokens=2, do_sample=True))
    finally:
        model.generation_config.num_return_sequences = saved
    assert out.shape[0] == 4


@torch.no_grad()
def test_a_conversation_continued_from_a_callers_cache_still_merges_its_dna(tiny):
    """A caller's cache holding the text before the DNA: the DNA of the uncached part is merged, as without a cache."""
    model, processor = tiny
    inputs = _inputs(processor, short_messages(["ACGTACGTTTGACAGATTACA", "GGGTACGTTTGACAGATTACA"]))
    start = int((inputs["input_ids"][0] == model.config.dna_start_token_id).nonzero()[0])
    cache = model(input_ids=inputs["input_ids"][:, :start], use_cache=True).cache
    kwargs = dict(max_new_tokens=1, do_sample=False, output_logits=True, return_dict_in_generate=True)
    continued = model.generate(**inputs, cache=cache, **kwargs).logits[0]
    plain = model.generate(**inputs, **kwargs).logits[0]
    torch.testing.assert_close(continued, plain, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_one_base_changes_logits_and_dna_embeds_reuse_is_exact(tiny_of_kind, encoder_kind, kegg_rows):
    model, processor = tiny_of_kind
    row, trim = kegg_rows[0], ENCODER_KINDS[encoder_kind]["kegg_trim"]
    inputs = _inputs(processor, kegg_user_messages(row, trim=trim))
    logits = model(**inputs).logits
    variant = row["variant_sequence"]
    mutated = dict(row, variant_sequence=variant[:2000] + ("A" if variant[2000] != "A" else "C") + variant[2001:])
    other = model(**_inputs(processor, kegg_user_messages(mutated, trim=trim))).logits
    assert (logits - other).abs().max() > 1e-4

    dna_embeds = model.get_dna_features(inputs["dna_input_ids"], inputs["dna_attention_mask"])
    assert dna_embeds.shape[:3] == inputs["dna_input_ids"].shape
    reused = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], dna_embeds=dna_embeds,
                   dna_attention_mask=inputs["dna_attention_mask"]).logits
    assert torch.equal(reused, logits)
    generated = model.generate(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                               dna_embeds=dna_embeds, dna_attention_mask=inputs["dna_attention_mask"],
                               max_new_tokens=3, do_sample=False)
    assert torch.equal(generated, model.generate(**inputs, max_new_tokens=3, do_sample=False))


def test_encoder_runs_once_per_distinct_sequence(tiny_of_kind):
    model, processor = tiny_of_kind
    rows_seen = []
    hook = model.model.dna_encoder.register_forward_hook(lambda m, args, out: rows_seen.append(args[0].shape[0]))
    try:
        inputs = _inputs(processor, short_messages(["ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGATTACC"]))
        model.generate(**inputs, max_new_tokens=3, do_sample=True, num_return_sequences=4)
    finally:
        hook.remove()
    assert rows_seen == [2]  # one call, at prefill, on the 2 distinct sequences (not 8)


@torch.no_grad()
def test_mismatches_and_missing_dna_raise_named_errors(tiny):
    model, processor = tiny
    inputs = _inputs(processor, short_messages(["ACGTACGTTTGACAGATTACA"]))
    fewer = inputs["dna_attention_mask"].clone()
    fewer[0, 0, 5] = 0
    fewer[0, 0, 6:] = 0
    with pytest.raises(ValueError, match=r"(?s)\d+ <\|dna_pad\|> tokens vs \d+ DNA token features"):
        model(input_ids=inputs["input_ids"], dna_input_ids=inputs["dna_input_ids"], dna_attention_mask=fewer)
    with pytest.raises(ValueError, match="no DNA was given"):
        model(input_ids=inputs["input_ids"])
    left = inputs["dna_attention_mask"].flip(-1)
    left_ids = inputs["dna_input_ids"].flip(-1)
    wide = torch.cat([torch.zeros_like(left[..., :1]), left], -1), torch.cat([left_ids[..., :1], left_ids], -1)
    with pytest.raises(ValueError, match="right-padded"):
        model(input_ids=inputs["input_ids"], dna_input_ids=wide[1], dna_attention_mask=wide[0])
    with pytest.raises(ValueError, match="batch-aligned"):
        model(input_ids=inputs["input_ids"], dna_input_ids=inputs["dna_input_ids"][0],
              dna_attention_mask=inputs["dna_attention_mask"][0])


@torch.no_grad()
@pytest.mark.parametrize("dtype, attn, tol", [(torch.float32, "sdpa", 1e-4), (torch.bfloat16, "eager", 0.15),
                                              (torch.bfloat16, "sdpa", 0.15)])
def test_other_dtypes_and_attention_agree_with_fp32_eager(tiny, tmp_path_factory, dtype, attn, tol):
    model, processor = tiny
    folder = tmp_path_factory.getbasetemp() / "dtype_model"
    if not folder.exists():
        model.save_pretrained(folder)
    reference = BioReasonForConditionalGeneration.from_pretrained(folder, attn_implementation="eager").eval()
    other = BioReasonForConditionalGeneration.from_pretrained(folder, attn_implementation=attn, dtype=dtype).eval()
    inputs = _inputs(processor, short_messages(["ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGGTTACA"]))
    expected = reference(**inputs).logits
    got = other(**inputs).logits.float()
    assert got.dtype == torch.float32 and other.model.dna_projector.linear_1.weight.dtype == dtype
    assert (got - expected).abs().max() < tol * max(1.0, expected.abs().max().item())


def _tiny_parts(vocab=600):
    text = LlamaConfig(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=2, vocab_size=vocab, tie_word_embeddings=False)
    dna = NucleotideTransformerConfig(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=64)
    return LlamaForCausalLM(text), NucleotideTransformerModel(dna)


def test_llama_text_model_feature_layer_and_mlp_projector(qwen3_tok):
    """A Llama-architecture LM (as SmolLM2 is), untied embeddings that must grow, another encoder layer, MLP projector."""
    torch.manual_seed(0)
    lm, encoder = _tiny_parts(vocab=len(qwen3_tok))
    trained_mean = lm.get_input_embeddings().weight.detach().mean(0).clone()
    model, processor = build_bioreason(lm, encoder, tokenizer=qwen3_tok, projector_type="mlp2x_gelu",
                                       dna_feature_layer=-2)
    assert model.get_input_embeddings().weight.shape[0] == len(processor.tokenizer) == len(qwen3_tok)
    dna_rows = model.get_input_embeddings().weight[model.config.dna_start_token_id:model.config.dna_end_token_id + 1]
    torch.testing.assert_close(dna_rows, trained_mean.expand_as(dna_rows))
    assert not model.config.tie_word_embeddings and model.lm_head.weight.shape[0] == len(qwen3_tok)
    inputs = _inputs(processor, short_messages(["ACGTACGTTTGACAGATTACA"]))
    out = model(**inputs, labels=inputs["input_ids"])
    out.loss.backward()
    assert model.model.dna_projector.linear_2.weight.grad is not None
    assert all(p.grad is None and not p.requires_grad for p in model.model.dna_encoder.parameters())
    hidden = []
    hook = model.model.dna_projector.register_forward_hook(lambda m, a, o: hidden.append(a[0]))
    model(**inputs)
    hook.remove()
    enc = model.model.dna_encoder(inputs["dna_input_ids"][0], inputs["dna_attention_mask"][0], output_hidden_states=True)
    torch.testing.assert_close(hidden[0], enc.hidden_states[-2])


def test_config_validation_names_the_field():
    text = LlamaConfig(hidden_size=48, intermediate_size=96, num_hidden_layers=1, num_attention_heads=4, vocab_size=100)
    dna = NucleotideTransformerConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=64)
    with pytest.raises(ValueError, match="dna_token_id=151670 is outside"):
        BioReasonConfig(text_config=text, dna_config=dna)
    with pytest.raises(ValueError, match="projector_type"):
        BioReasonConfig(text_config=text, dna_config=dna, dna_token_id=1, dna_start_token_id=2, dna_end_token_id=3,
                        projector_type="qformer")
    with pytest.raises(ValueError, match="dna_feature_layer=5"):
        BioReasonConfig(text_config=text, dna_config=dna, dna_token_id=1, dna_start_token_id=2, dna_end_token_id=3,
                        dna_feature_layer=5)
