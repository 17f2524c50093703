"""BioReasonProcessor: chat template goldens, placeholder counts, labels, padding and bad-input errors."""

import json
import logging

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, kegg_user_messages, short_messages
from modeling_bioreason import BioReasonProcessor, NucleotideTransformerTokenizer, normalize_dna_sequence

PAD_ID = 151670


def _golden_messages(case, with_system=False, with_assistant=False):
    messages = [case["messages"]["user"]]
    if with_system:
        messages = [case["messages"]["system_used_in_d"]] + messages
    if with_assistant:
        messages = messages + [case["messages"]["assistant"]]
    return messages


def test_real_qwen3_vocabulary_dna_token_ids(tiny):
    _, processor = tiny
    ids = processor.tokenizer.convert_tokens_to_ids(["<|dna_start|>", "<|dna_pad|>", "<|dna_end|>"])
    assert ids == [151669, 151670, 151671]
    assert processor.tokenizer.pad_token_id != processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert processor.tokenizer.pad_token_id != processor.tokenizer.eos_token_id


@pytest.mark.parametrize("row", [0, 1])
def test_chat_template_renders_bioreason_goldens(tiny, chat_golden, row):
    _, processor = tiny
    case = chat_golden["cases"][row]
    user = _golden_messages(case)
    assert processor.apply_chat_template(user, add_generation_prompt=True) == case["a_user_turn_add_generation_prompt"]["text"]
    assert processor.apply_chat_template(user, add_generation_prompt=True, enable_thinking=False) == case[
        "b_user_turn_add_generation_prompt_enable_thinking_false"]["text"]
    assert processor.apply_chat_template(_golden_messages(case, with_assistant=True)) == case[
        "c_sft_full_render_with_eos"]["text"]
    assert processor.apply_chat_template(_golden_messages(case, with_assistant=True), continue_final_message=True) == case[
        "c_sft_bioreason_literal"]["text"]
    assert processor.apply_chat_template(_golden_messages(case, with_system=True), add_generation_prompt=True) == case[
        "d_system_plus_user_add_generation_prompt"]["text"]
    assert processor.apply_chat_template(user, add_generation_prompt=True, add_dna_id=True) == case[
        "x_add_dna_id_true_user_turn"]["text"]
    # Our own block format ({"type": "dna", "sequence": ...}) and string assistant content render the same.
    ours = [{"role": "user", "content": [{"type": "dna", "sequence": "ACGT"} if b["type"] == "dna" else b
                                        for b in case["messages"]["user"]["content"]]},
            {"role": "assistant", "reasoning_content": case["messages"]["assistant"]["reasoning_content"],
             "content": case["messages"]["assistant"]["content"][0]["text"]}]
    assert processor.apply_chat_template(ours) == case["c_sft_full_render_with_eos"]["text"]


def test_placeholder_counts_match_bioreason_processor(tiny, kegg_rows):
    _, processor = tiny
    golden = json.loads((FIXTURES / "bioreason" / "processor_golden.json").read_text())
    for expected in golden["rows"]:
        row = kegg_rows[expected["kegg_test_row"]]
        for trim, key in ((0, "untrimmed_as_fed_by_train_dna_qwen_kegg"), (1024, "trimmed_per_side_1024")):
            inputs = processor.apply_chat_template(
                kegg_user_messages(row, trim), add_generation_prompt=True, tokenize=True, return_dict=True,
                return_tensors="pt")
            counts = inputs["dna_attention_mask"].sum(-1)[0].tolist()
            assert counts == expected[key]["dna_pad_per_sequence_main_with_cls"]
            assert int((inputs["input_ids"] == PAD_ID).sum()) == sum(counts)
    # BioReason's vllm-grpo branch drops <cls>: one placeholder fewer per sequence.
    no_cls = BioReasonProcessor(processor.tokenizer, NucleotideTransformerTokenizer(add_cls_token=False))
    inputs = no_cls.apply_chat_template(kegg_user_messages(kegg_rows[0]), add_generation_prompt=True, tokenize=True,
                                        return_dict=True, return_tensors="pt")
    assert inputs["dna_attention_mask"].sum(-1)[0].tolist() == [671, 671]


def test_outputs_are_batch_aligned_tensors_with_left_padding_for_generation(tiny):
    _, processor = tiny
    batch = [short_messages(["ACGTACGTAC", "ACGTTCGTACGGGA"]), short_messages(["GATTACA"], "Short?")]
    inputs = processor.apply_chat_template(batch, add_generation_prompt=True, tokenize=True, return_dict=True,
                                           return_tensors="pt")
    assert set(inputs) == {"input_ids", "attention_mask", "dna_input_ids", "dna_attention_mask"}
    assert all(isinstance(v, torch.Tensor) for v in inputs.values())
    assert inputs["dna_input_ids"].shape[:2] == (2, 2)
    assert inputs["dna_attention_mask"][1, 1].sum() == 0  # empty slot
    assert inputs["dna_attention_mask"].sum((1, 2)).tolist() == (inputs["input_ids"] == PAD_ID).sum(1).tolist()
    assert inputs["attention_mask"][1, 0] == 0 and inputs["attention_mask"][:, -1].all()  # left padded
    # DNA is right-padded whatever the text side does.
    assert inputs["dna_attention_mask"][1, 0, 0] == 1


def test_text_ids_are_the_tokenizers_own_whatever_state_it_was_left_in(tiny, kegg_rows):
    """The processor's text ids equal `tokenizer(text)`'s with each placeholder expanded, also after a caller left
    truncation or padding configured on the Rust tokenizer (the fast path must not inherit it)."""
    _, processor = tiny
    conversations = [kegg_user_messages(row, 1900) for row in kegg_rows[:3]]
    texts = processor.apply_chat_template(conversations, add_generation_prompt=True)
    dna = [[m["sequence"] for m in c[0]["content"] if m["type"] == "dna"] for c in conversations]
    counts = [[len(ids) for ids in row] for row in processor._tokenize_dna(dna, None)]

    def expected(text, row_counts):
        ids, block = [], 0
        for token in processor.tokenizer(text, add_special_tokens=False)["input_ids"]:
            repeat = row_counts[block] if token == PAD_ID else 1
            block += token == PAD_ID
            ids += [token] * repeat
        return ids

    want = [expected(t, c) for t, c in zip(texts, counts)]
    backend = processor.tokenizer.backend_tokenizer
    for configure in (lambda: None, lambda: backend.enable_truncation(16), lambda: backend.enable_padding(length=9000),
                      lambda: processor.tokenizer("<|im_start|>", split_special_tokens=True)):
        configure()
        try:
            got = processor(text=texts, dna=dna, padding=False)["input_ids"]
        finally:
            backend.no_truncation()
            backend.no_padding()
        assert got == want


def test_labels_are_the_assistant_turn_and_its_end_of_turn(tiny, chat_golden):
    _, processor = tiny
    case = chat_golden["cases"][0]
    messages = [case["messages"]["user"], case["messages"]["assistant"]]
    messages[0] = {"role": "user", "content": [{"type": "dna", "sequence": "ACGTACGTACGT"},
                                               {"type": "dna", "sequence": "ACGTACTTACGT"},
                                               case["messages"]["user"]["content"][2]]}
    short = short_messages(["GATTACA"]) + [{"role": "assistant", "content": "<think>\nshort\n</think>\n\nAnswer: x"}]
    out = processor.apply_chat_template([messages, short], tokenize=True, return_dict=True, return_tensors="pt",
                                        return_assistant_tokens_mask=True)
    labels, ids = out["labels"], out["input_ids"]
    assert out["attention_mask"][1, 0] == 1 and out["attention_mask"][1, -1] == 0  # right padded for training
    supervised = processor.tokenizer.decode(labels[0][labels[0] != -100])
    assert supervised == case["c_supervised_text_bioreason"]["text"] + "<|im_end|>"
    assert processor.tokenizer.decode(labels[1][labels[1] != -100]) == "<think>\nshort\n</think>\n\nAnswer: x<|im_end|>"
    for row in range(2):
        kept = (labels[row] != -100).nonzero().squeeze(-1)
        assert torch.equal(kept, torch.arange(kept[0], kept[-1] + 1))  # one contiguous span
        assert torch.equal(labels[row][kept], ids[row][kept])
        assert ids[row][kept[-1]] == processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
        assert (labels[row][out["attention_mask"][row] == 0] == -100).all()
    assert torch.equal(out["assistant_masks"].bool(), labels != -100)


@pytest.mark.parametrize(
    "sequence, message",
    [
        ("ACGTRYACGT", "invalid character 'R' at position 4"),
        ("ACGT ACGT", "whitespace at position 4"),
        (">chr22 test\nACGT", "FASTA header"),
        ("   ", "Empty DNA sequence"),
        ("ACGU", "invalid character 'U'"),
    ],
)
def test_bad_dna_is_rejected_with_a_specific_error(tiny, sequence, message):
    _, processor = tiny
    with pytest.raises(ValueError, match=message):
        processor.apply_chat_template(short_messages([sequence]), add_generation_prompt=True, tokenize=True)


def test_dna_normalisation_policy():
    assert normalize_dna_sequence(" acgtn\n") == "ACGTN"
    assert normalize_dna_sequence("ACRYT", iupac="to_n") == "ACNNT"
    with pytest.raises(ValueError, match="IUPAC"):
        normalize_dna_sequence("ACRT")
    with pytest.raises(TypeError):
        normalize_dna_sequence(None)


def test_block_and_sequence_count_mismatches(tiny):
    _, processor = tiny
    text = processor.apply_chat_template(short_messages(["ACGT", "ACGT"]), add_generation_prompt=True)
    with pytest.raises(ValueError, match="2 <\\|dna_pad\\|> placeholder\\(s\\) but 1 DNA"):
        processor(text=text, dna_sequences=["ACGT"])
    with pytest.raises(ValueError, match="texts but DNA sequences for"):
        processor(text=[text, text], dna_sequences=[["ACGT", "ACGT"]])
    bad_block = [{"role": "user", "content": [{"type": "dna", "text": None}, {"type": "text", "text": "q"}]}]
    with pytest.raises(ValueError, match="under 'sequence'"):
        processor.apply_chat_template(bad_block, add_generation_prompt=True, tokenize=True)


def test_long_dna_errors_unless_truncation_is_asked_for(tiny, caplog):
    _, processor = tiny
    long = "ACGTAC" * 2100  # 2,100 tokens + <cls> > 2,048
    with pytest.raises(ValueError, match="2101 DNA tokens exceed max_dna_tokens=2048"):
        processor.apply_chat_template(short_messages([long]), add_generation_prompt=True, tokenize=True)
    with caplog.at_level(logging.WARNING):
        out = processor(text=processor.apply_chat_template(short_messages([long]), add_generation_prompt=True),
                        dna_sequences=[long], dna_truncation="center", return_tensors="pt")
    assert out["dna_attention_mask"].sum() == 2048 and out["dna_input_ids"][0, 0, 0] == 3  # <cls> kept
    assert "truncated from 2101 to 2048" in caplog.text


def test_text_truncation_never_cuts_placeholders(tiny):
    _, processor = tiny
    text = processor.apply_chat_template(short_messages(["ACGTACGTACGT" * 10], "q " * 50), add_generation_prompt=True)
    full = processor(text=text, dna_sequences=["ACGTACGTACGT" * 10])
    n = len(full["input_ids"][0])
    kept = processor(text=text, dna_sequences=["ACGTACGTACGT" * 10], truncation=True, max_length=n - 5)
    assert len(kept["input_ids"][0]) == n - 5
    with pytest.raises(ValueError, match="would cut DNA placeholders"):
        processor(text=text, dna_sequences=["ACGTACGTACGT" * 10], truncation=True, max_length=10)


def test_processor_save_and_load_round_trip(tiny, tmp_path):
    _, processor = tiny
    processor.save_pretrained(tmp_path)
    assert (tmp_path / "dna_tokenizer" / "vocab.txt").exists()
    reloaded = BioReasonProcessor.from_pretrained(tmp_path)
    messages = short_messages(["ACGTACGTAC", "ACGTTCGTAC"])
    a = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
    b = reloaded.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
    assert {k: v.tolist() for k, v in a.items()} == {k: v.tolist() for k, v in b.items()}


def _reference_nt_tokens(sequence: str) -> int:
    """The published rule, written independently: 6 unambiguous bases -> one token, else one character."""
    count, i = 0, 0
    while i < len(sequence):
        i += 6 if len(sequence) - i >= 6 and set(sequence[i:i + 6]) <= set("ACGT") else 1
        count += 1
    return count


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet="ACGTNacgtn", min_size=1, max_size=80), min_size=1, max_size=3))
def test_fuzz_valid_dna_expands_to_its_token_count(tiny, sequences):
    _, processor = tiny
    out = processor.apply_chat_template(short_messages(sequences), add_generation_prompt=True, tokenize=True,
                                        return_dict=True, return_tensors="pt")
    expected = [1 + _reference_nt_tokens(s.upper()) for s in sequences]
    assert out["dna_attention_mask"].sum(-1)[0].tolist() == expected
    assert int((out["input_ids"] == PAD_ID).sum()) == sum(expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and set(s.strip().upper()) - set("ACGTN")))
def test_fuzz_invalid_dna_always_raises(tiny, sequence):
    _, processor = tiny
    with pytest.raises(ValueError):
        processor(text="<|dna_start|><|dna_pad|><|dna_end|>", dna_sequences=[sequence])


# ------------------------------------------------------------------ content blocks and keywords: never dropped silently
def _small_processor():
    from entry_points import small_bioreason

    return small_bioreason()[1]


@pytest.mark.parametrize("block, message", [
    ({"type": "DNA", "sequence": "ACGT"}, r"unknown content block type 'DNA' \(DNA blocks are typed 'dna', lower case\)"),
    ({"type": "sequence", "sequence": "ACGT"}, r"unknown content block type 'sequence'"),
    ({"type": "image", "url": "x.png"}, r"unknown content block type 'image'.*\{\"type\": \"dna\", \"sequence\""),
    ({"sequence": "ACGT"}, r"unknown content block type None"),
    ({"type": "text"}, r"a text block needs a str under 'text'"),
])
def test_unknown_or_malformed_blocks_raise_naming_the_block(block, message):
    processor = _small_processor()
    messages = [{"role": "user", "content": [block, {"type": "text", "text": "What is this?"}]}]
    for tokenize in (False, True):
        with pytest.raises(ValueError, match=message):
            processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=tokenize)


def test_dna_block_without_sequence_and_dna_outside_user_turns_raise():
    processor = _small_processor()
    with pytest.raises(ValueError, match=r"message 0: a DNA block needs its bases under 'sequence'"):
        processor.apply_chat_template([{"role": "user", "content": [{"type": "dna"}]}], tokenize=True)
    assistant = [{"role": "user", "content": "hi"},
                 {"role": "assistant", "content": [{"type": "dna", "sequence": "ACGT"}]}]
    with pytest.raises(ValueError, match="DNA blocks go in user messages"):
        processor.apply_chat_template(assistant)


def test_dna_keyword_alias_and_unknown_keywords():
    processor = _small_processor()
    text = "<|im_start|>user\n<|dna_start|><|dna_pad|><|dna_end|>Which?<|im_end|>\n"
    by_dna = processor(text=text, dna=["ACGTACGTAC"], return_tensors="pt")
    by_alias = processor(text=text, dna_sequences=["ACGTACGTAC"], return_tensors="pt")
    one_str = processor(text=text, dna="ACGTACGTAC", return_tensors="pt")
    for key in by_dna:
        assert torch.equal(by_dna[key], by_alias[key]) and torch.equal(by_dna[key], one_str[key])
    assert by_dna["dna_attention_mask"].sum() == 6  # <cls>, ACGTAC, then G, T, A, C as single-base tokens
    with pytest.raises(TypeError, match=r"unknown keyword argument\(s\) \['sequences'\].*dna="):
        processor(text=text, sequences=["ACGTACGTAC"])
    with pytest.raises(ValueError, match=r"placeholder\(s\) but 0 DNA sequence"):
        processor(text=text)  # the DNA was not passed under a name the processor knows: never dropped
    with pytest.raises(ValueError, match="not images="):
        processor(text=text, dna=["ACGT"], images=["x.png"])
    with pytest.raises(ValueError, match="not both"):
        processor(text=text, dna=["ACGT"], dna_sequences=["ACGT"])
    assert processor(text=text, dna=["ACGT"], images=None)["input_ids"] is not None  # TRL passes images=None


def test_processor_refuses_a_non_nt_dna_tokenizer(qwen3_tok):
    from modeling_bioreason import BioReasonProcessor

    processor = _small_processor()
    with pytest.raises(ValueError, match=r"NT-v2 6-mer tokenizer.*got \w+ with \d+ vocabulary entries"):
        BioReasonProcessor(tokenizer=processor.tokenizer, dna_tokenizer=qwen3_tok)


def test_chat_template_is_one_file_shared_by_package_and_saved_folders(tmp_path):
    from importlib.resources import files

    from modeling_bioreason.processing_bioreason import CHAT_TEMPLATE

    processor = _small_processor()
    source = files("modeling_bioreason").joinpath("chat_template.jinja").read_text(encoding="utf-8")
    assert CHAT_TEMPLATE == source == processor.chat_template == processor.tokenizer.chat_template
    processor.save_pretrained(tmp_path)
    assert (tmp_path / "chat_template.jinja").read_text(encoding="utf-8") == source


# ------------------------------------------------ roles and content shapes: an error naming the message, never dropped
Q = {"type": "text", "text": "Which disease?"}


@pytest.mark.parametrize("conversation, message", [
    ([{"role": "user", "content": Q}], r"Message 0 \(user\): content is a dict; it must be a str or a list of blocks: "
                                       r"wrap the block in a list"),
    ([{"role": "User", "content": [Q]}], r"Message 0: role 'User' is not rendered by the BioReason chat template "
                                         r"\(did you mean 'user'\?\); accepted roles: 'system', 'user', 'assistant', "
                                         r"'tool'"),
    ([{"role": "human", "content": "Which disease?"}], r"role 'human' .*\(did you mean 'user'\?\)"),
    ([{"role": None, "content": "Which disease?"}], r"Message 0: role None is not rendered .*accepted roles"),
    ([{"content": "Which disease?"}], r"Message 0: role None is not rendered"),
    ([{"role": "user", "content": [{"type": "text", "text": "Which disease?", "dna": "ACGTAC"}]}],
     r"Message 0 \(user\), block 0: a text block also carries \['dna'\]; one block holds either text or DNA"),
    ([{"role": "user", "content": [{"type": "dna", "sequence": "ACGTAC", "text": "Which?"}]}],
     r"block 0: a DNA block carries \['sequence', 'text'\]"),
    ([], r"The conversation is empty: give at least one message"),
    ([[{"role": "user", "content": "Which?"}], []], r"Conversation 1 is empty"),
    ([{"role": "user", "content": 5}], r"Message 0 \(user\): content must be a str or a list of blocks.*; got int 5"),
    ([{"role": "user", "content": None}], r"Message 0 \(user\) has no content"),
    ([{"role": "user", "content": "Which?"}, {"role": "tool", "content": [Q]}],
     r"Message 1 \(tool\): a tool message's content is the tool's result as a str; got list"),
    ([{"role": "user", "content": "Which?"}, {"role": "assistant", "content": "x", "reasoning_content": ["a"]}],
     r"Message 1 \(assistant\): reasoning_content must be a str; got list"),
    (["Which disease?"], r"Message 0 is str 'Which disease\?'; each message is a dict"),
    ("Which disease?", r"takes chat messages.*got a str\. Pre-rendered text goes to "
                       r"processor\(text=\.\.\., dna=\.\.\.\)"),
])
def test_bad_roles_and_content_shapes_are_errors_naming_the_message(conversation, message):
    processor = _small_processor()
    for tokenize in (False, True):
        with pytest.raises(ValueError, match=message):
            processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=tokenize)


def test_none_valued_block_keys_are_absent_as_datasets_stores_them():
    """`datasets` stores a text block as {"type", "text", "sequence": None}: rendered as text, never as DNA."""
    processor = _small_processor()
    row = [{"role": "user", "content": [{"type": "dna", "sequence": "ACGTAC", "text": None},
                                        {"type": "text", "text": "Which disease?", "sequence": None, "dna": None}]}]
    plain = [{"role": "user", "content": [{"type": "dna", "sequence": "ACGTAC"}, Q]}]
    assert processor.apply_chat_template(row) == processor.apply_chat_template(plain)
    assert "Which disease?" in processor.apply_chat_template(row)
    assert torch.equal(processor.apply_chat_template(row, tokenize=True),
                       processor.apply_chat_template(plain, tokenize=True))


@pytest.mark.parametrize("kwargs, message", [
    ({"text": 5}, r"text= must be a str or a non-empty list of str \(rendered prompts\); got int 5"),
    ({"text": []}, r"text= must be a str or a non-empty list of str"),
    ({"text": [[{"role": "user", "content": "Which?"}]]}, r"text= row 0 is list: chat messages go to "
                                                           r"processor\.apply_chat_template"),
    ({"text": "<|dna_pad|>", "dna": 5}, r"dna= must be a list of DNA sequences \(str\) per prompt; got int 5"),
    ({"text": ["<|dna_pad|>"], "dna": [5]}, r"dna= row 0 is int 5; each prompt's DNA is a list of sequences"),
    ({"text": ["<|dna_pad|>"], "dna": [[b"ACGT"]]}, r"dna= row 0, sequence 0 is bytes b'ACGT'"),
])
def test_processor_call_names_bad_text_and_dna_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _small_processor()(**kwargs)
