"""pipeline(): both doors (task inferred from config.custom_pipelines, and "text-generation"), chat messages with DNA,
batching, generation kwargs, streamer, reasoning/answer split, bad input."""

import pytest
import torch
from transformers import AutoProcessor, TextIteratorStreamer, pipeline

from entry_points import chat_inputs, saved_folder, short_chat, small_bioreason

ONE = short_chat(["ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGGTTACA"])
TWO = short_chat(["GATTACAGATTACAGATTACAGATTACA"], "A different and longer question about one window?")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, encoder_kind):
    return saved_folder(tmp_path_factory.mktemp("pipe"), encoder_kind)


@pytest.fixture(scope="module")
def pipe(folder):
    return pipeline(model=str(folder), trust_remote_code=True)


def _direct(kind, conversations, **generate_kwargs):
    model, processor = small_bioreason(kind)
    inputs = chat_inputs(processor, conversations)
    out = model.generate(**inputs, **generate_kwargs)[:, inputs["input_ids"].shape[1]:]
    return processor.tokenizer.batch_decode(out, skip_special_tokens=True)


def test_inferred_task_one_conversation_equals_direct_generate(pipe, encoder_kind):
    assert type(pipe).__name__ == "BioReasonPipeline" and type(pipe).__module__.startswith("transformers_modules.")
    out = pipe(ONE, max_new_tokens=7, do_sample=False)
    assert isinstance(out, list) and len(out) == 1
    messages = out[0]["generated_text"]
    assert messages[:-1] == ONE and messages[-1]["role"] == "assistant"
    assert messages[-1]["content"] == _direct(encoder_kind, ONE, max_new_tokens=7, do_sample=False)[0].strip()
    assert set(out[0]) == {"generated_text", "reasoning", "answer"}


def test_text_generation_task_batches_a_list_of_conversations(folder, encoder_kind):
    pipe = pipeline("text-generation", model=str(folder), trust_remote_code=True)
    assert type(pipe).__name__ == "BioReasonPipeline"
    batched = pipe([ONE, TWO], batch_size=2, max_new_tokens=5, do_sample=False, return_full_text=False)
    one_by_one = [pipe(c, max_new_tokens=5, do_sample=False, return_full_text=False)[0] for c in (ONE, TWO)]
    assert [row[0]["generated_text"] for row in batched] == [row["generated_text"] for row in one_by_one]
    assert [row[0]["generated_text"] for row in batched] == [t.strip() for t in _direct(
        encoder_kind, [ONE, TWO], max_new_tokens=5, do_sample=False)]


def test_generation_kwargs_sampling_num_return_sequences_and_streamer(pipe, encoder_kind):
    _, processor = small_bioreason(encoder_kind)
    torch.manual_seed(0)
    out = pipe(ONE, max_new_tokens=4, do_sample=True, num_return_sequences=3, return_full_text=False)
    assert len(out) == 3
    tokens = [len(processor.tokenizer(o["generated_text"])["input_ids"]) for o in out]
    assert max(tokens) <= 6  # max_new_tokens honoured (decoding may merge or split a token at the edges)
    streamer = TextIteratorStreamer(processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
    result = pipe(ONE, max_new_tokens=6, do_sample=False, streamer=streamer, return_full_text=False)
    streamed = "".join(streamer)
    assert streamed.strip() == result[0]["generated_text"]


def test_reasoning_and_answer_are_returned_separately(pipe):
    completion = pipe.tokenizer("<think>\nThe variant disrupts TARDBP.\n</think>\n\nAnswer: ALS<|im_end|>",
                                return_tensors="pt")["input_ids"]
    rows = pipe.postprocess({"completions": completion[None], "conversations": [ONE]})
    assert rows[0][0]["reasoning"] == "The variant disrupts TARDBP." and rows[0][0]["answer"] == "Answer: ALS"
    assert rows[0][0]["generated_text"][-1]["content"].startswith("<think>")


def test_processor_passed_as_tokenizer_and_bad_inputs(folder):
    processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
    pipe = pipeline(model=str(folder), tokenizer=processor, trust_remote_code=True)
    assert pipe.processor is processor
    for bad in (42, [], [ONE, 7]):
        with pytest.raises(ValueError, match="takes chat messages"):
            pipe(bad)
    with pytest.raises(ValueError, match=r"unknown content block type 'DNA' \(DNA blocks are typed 'dna'"):
        pipe([{"role": "user", "content": [{"type": "DNA", "sequence": "ACGT"}, {"type": "text", "text": "?"}]}])
    with pytest.raises(ValueError, match="needs its bases under 'sequence'"):
        pipe([{"role": "user", "content": [{"type": "dna"}, {"type": "text", "text": "?"}]}])
    with pytest.raises(ValueError, match=r"message 0: role 'human' is not rendered .*did you mean 'user'"):
        pipe([{"role": "human", "content": [{"type": "text", "text": "Which disease?"}]}])
    with pytest.raises(ValueError, match=r"Conversation 0, message 0: role None is not rendered"):
        pipe([{"content": "Which disease?"}])  # no role: named by the processor, not a KeyError
    with pytest.raises(ValueError, match=r"Conversation 0 is empty"):
        pipe([[]])
    with pytest.raises(ValueError, match=r"message 0 \(user\): content is a dict"):
        pipe([{"role": "user", "content": {"type": "text", "text": "Which disease?"}}])


def test_pipeline_over_a_dataset_streams_in_order(pipe):
    """transformers' documented way to run a pipeline over a dataset: KeyDataset (and any iterator)."""
    import datasets
    from transformers.pipelines.pt_utils import KeyDataset

    rows = datasets.Dataset.from_list([{"messages": c} for c in (ONE, TWO, ONE)])
    streamed = pipe(KeyDataset(rows, "messages"), batch_size=2, max_new_tokens=4, do_sample=False,
                    return_full_text=False)
    assert not isinstance(streamed, list)  # an iterator, as for transformers' own pipelines
    expected = [pipe(c, max_new_tokens=4, do_sample=False, return_full_text=False) for c in (ONE, TWO, ONE)]
    assert list(streamed) == expected
    assert list(pipe(iter([TWO]), max_new_tokens=4, do_sample=False, return_full_text=False)) == [expected[1]]


def test_prefilled_assistant_turn_is_continued_as_one_message(pipe):
    prefill = "<think>\nThe variant"
    conversation = [*ONE, {"role": "assistant", "content": prefill}]
    [out] = pipe(conversation, max_new_tokens=5, do_sample=False)
    messages = out["generated_text"]
    assert [m["role"] for m in messages] == ["user", "assistant"] and messages[0] == ONE[0]
    continuation = pipe(conversation, max_new_tokens=5, do_sample=False, return_full_text=False)[0]["generated_text"]
    assert messages[1]["content"] == prefill + continuation
    assert out["reasoning"] == messages[1]["content"].removeprefix("<think>").strip()  # read from the whole turn
    assert out["answer"] == ""  # still thinking: no answer yet


def test_a_plain_string_is_a_text_only_question(pipe, encoder_kind):
    """What the Hub widget sends for pipeline_tag text-generation: a string in, the string continued out."""
    _, processor = small_bioreason(encoder_kind)
    question = "What does BRCA1 do?"
    [out] = pipe(question, max_new_tokens=5, do_sample=False)
    inputs = chat_inputs(processor, [[{"role": "user", "content": [{"type": "text", "text": question}]}]])
    assert "dna_input_ids" not in inputs or inputs["dna_input_ids"].numel() == 0
    direct = _direct(encoder_kind, [[{"role": "user", "content": [{"type": "text", "text": question}]}]],
                     max_new_tokens=5, do_sample=False)[0].strip()
    assert out["generated_text"] == question + direct
    assert pipe([question, question], max_new_tokens=5, do_sample=False)[1] == [out]


def test_save_pretrained_keeps_the_processor_and_the_folder_reloads(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "saved")
    saved = {p.name for p in (tmp_path / "saved").iterdir()}
    assert {"processor_config.json", "chat_template.jinja", "dna_tokenizer", "pipeline_bioreason.py"} <= saved
    again = pipeline(model=str(tmp_path / "saved"), trust_remote_code=True)
    assert type(again).__name__ == "BioReasonPipeline"
    assert again(ONE, max_new_tokens=5, do_sample=False) == pipe(ONE, max_new_tokens=5, do_sample=False)
