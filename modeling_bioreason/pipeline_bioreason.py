"""BioReasonPipeline: chat messages with DNA blocks in, reasoning and answer out.

A saved BioReason folder names this class in `config.json` (`custom_pipelines`, under the task "text-generation"), so
both doors reach it:

    pipe = pipeline(model="path/or/repo-id", trust_remote_code=True)
    pipe = pipeline("text-generation", model="path/or/repo-id", trust_remote_code=True)
    pipe([{"role": "user", "content": [{"type": "dna", "sequence": ref}, {"type": "dna", "sequence": alt},
                                       {"type": "text", "text": question}]}], max_new_tokens=800)
    for out in pipe(KeyDataset(dataset, "messages"), batch_size=8): ...   # a dataset or any iterator: streamed
    pipe.save_pretrained("folder")                                        # model, processor and this code: reloads

This file ships to the Hub next to the weights: it imports only torch, transformers and its siblings.
"""

from collections.abc import Iterable

from transformers import GenerationConfig, Pipeline
from transformers.processing_utils import ProcessorMixin

from .processing_bioreason import split_reasoning

# What `save_pretrained` writes to `config.custom_pipelines`.
CUSTOM_PIPELINES = {
    "text-generation": {"impl": "pipeline_bioreason.BioReasonPipeline", "pt": ["AutoModelForCausalLM"], "type": "text"}
}
PREPROCESS_PARAMS = ("enable_thinking", "add_dna_id", "chat_template", "dna_truncation", "continue_final_message")
POSTPROCESS_PARAMS = ("return_full_text", "skip_special_tokens")
TAKES = ("BioReasonPipeline takes chat messages: one conversation, a list of {'role': ..., 'content': [...]} dicts "
         "whose user turns hold {'type': 'dna', 'sequence': 'ACGT...'} and {'type': 'text', 'text': ...} blocks, a "
         "list or dataset of conversations, or a string (a text-only question);")


class BioReasonPipeline(Pipeline):
    r"""
    Generate a reasoned answer about the DNA in chat messages.

    Input: one conversation (a list of `{"role", "content"}` messages whose user turns hold
    `{"type": "dna", "sequence": ...}` and `{"type": "text", "text": ...}` blocks) or a list of conversations, which
    are batched `batch_size` at a time (left padding; each row's DNA stays its own). A dataset (e.g.
    `KeyDataset(dataset, "messages")`) or any other iterator of conversations is streamed: the call returns an
    iterator yielding each conversation's output in order, `batch_size` conversations per forward. A plain string
    (what the Hub widget of a `text-generation` model sends) is a text-only question: one user turn, no DNA; the
    model was trained with DNA, so expect a weaker answer. A conversation that ends in an assistant turn is
    continued (the prefill is the start of the answer).

    Keyword arguments: generation parameters (`max_new_tokens`, `do_sample`, `temperature`, `num_return_sequences`,
    `streamer`, `generation_config`, ...) go to `model.generate`; `enable_thinking`, `add_dna_id`, `chat_template`,
    `dna_truncation` go to the processor; `return_full_text` (default True) and `skip_special_tokens`.

    Output, per conversation: a list with one dict per returned sequence, `{"generated_text", "reasoning",
    "answer"}`. `generated_text` is the conversation with the new assistant message appended, or with its final
    assistant turn continued (the completion text alone with `return_full_text=False`; for a string input, the
    string followed by the completion); `reasoning` is the text inside `<think>...</think>`, `answer` what follows,
    both read from the whole assistant turn (prefill included).

    Example:

    ```python
    >>> from transformers import pipeline
    >>> pipe = pipeline(model="path/to/bioreason", trust_remote_code=True)  # doctest: +SKIP
    >>> out = pipe(messages, max_new_tokens=800, do_sample=False)  # doctest: +SKIP
    >>> out[0]["answer"]  # doctest: +SKIP
    ```
    """

    _pipeline_calls_generate = True
    _load_processor = True
    _load_tokenizer = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    _default_generation_config = GenerationConfig(max_new_tokens=256)

    def __init__(self, *args, **kwargs):
        tokenizer = kwargs.get("tokenizer")
        if isinstance(tokenizer, ProcessorMixin):  # pipeline(..., tokenizer=processor): what users try first
            kwargs["processor"], kwargs["tokenizer"] = tokenizer, None
        super().__init__(*args, **kwargs)
        if self.processor is None or not hasattr(self.processor, "dna_tokenizer"):
            raise ValueError(
                "BioReasonPipeline needs the BioReason processor: pipeline(model=folder_or_repo_id, "
                "trust_remote_code=True) loads it, or pass processor=AutoProcessor.from_pretrained(...)."
            )
        self.tokenizer = self.processor.tokenizer

    def _sanitize_parameters(self, **kwargs):
        preprocess = {key: kwargs.pop(key) for key in PREPROCESS_PARAMS if key in kwargs}
        postprocess = {key: kwargs.pop(key) for key in POSTPROCESS_PARAMS if key in kwargs}
        if "continue_final_message" in preprocess:
            postprocess["continue_final_message"] = preprocess["continue_final_message"]
        kwargs.pop("batch_size", None)
        kwargs.pop("num_workers", None)
        # Everything else is a generate() argument (max_new_tokens, do_sample, streamer, ...): generate() rejects
        # what it does not know, naming it.
        return preprocess, {"generate_kwargs": kwargs}, postprocess

    def __call__(self, inputs, batch_size: int | None = None, **kwargs):
        """Run on one conversation or string (returns a list of dicts), a list of them (a list of such lists), or a
        dataset / iterator of them (an iterator of such lists, in order)."""
        preprocess, forward, postprocess = self._sanitize_parameters(**kwargs)
        preprocess = {**self._preprocess_params, **preprocess}
        forward = {"generate_kwargs": {**self._forward_params.get("generate_kwargs", {}), **forward["generate_kwargs"]}}
        postprocess = {**self._postprocess_params, **postprocess}
        batch_size = batch_size or self._batch_size or 1
        self.call_count += 1
        run = lambda items: self._run(items, batch_size, preprocess, forward, postprocess)  # noqa: E731
        if self._is_stream(inputs):
            return (result for batch in _batches(inputs, batch_size) for result in run(batch))
        conversations, single = self._conversations(inputs)
        results = run(conversations)
        return results[0] if single else results

    def _run(self, items, batch_size, preprocess, forward, postprocess) -> list:
        results = []
        for start in range(0, len(items), batch_size):
            batch = [self._conversation(item) for item in items[start : start + batch_size]]
            model_inputs = self.preprocess([conversation for conversation, _ in batch], **preprocess)
            model_inputs["prompts"] = [prompt for _, prompt in batch]
            results.extend(self.postprocess(self.forward(model_inputs, **forward), **postprocess))
        return results

    @staticmethod
    def _is_stream(inputs) -> bool:
        """A dataset or iterator of conversations (not one conversation, a string or a list of them)."""
        if isinstance(inputs, (str, dict, list, tuple)):
            return False
        return isinstance(inputs, Iterable) or (hasattr(inputs, "__getitem__") and hasattr(inputs, "__len__"))

    @staticmethod
    def _conversation(item) -> tuple[list[dict], str | None]:
        """`(messages, prompt string or None)` for one input: a conversation, `{"messages": ...}` or a string."""
        if isinstance(item, str):
            return [{"role": "user", "content": [{"type": "text", "text": item}]}], item
        if isinstance(item, dict) and "messages" in item:
            return list(item["messages"]), None
        if isinstance(item, (list, tuple)):  # its messages are checked by the processor, which names the problem
            return list(item), None
        raise ValueError(f"{TAKES} got {type(item).__name__}.")

    @classmethod
    def _conversations(cls, inputs) -> tuple[list, bool]:
        """`(items, single)`: one input (a conversation, `{"messages"}` or a string) or a list of them."""
        if isinstance(inputs, (str, dict)) or (isinstance(inputs, (list, tuple)) and inputs
                                               and all(isinstance(m, dict) for m in inputs)):
            cls._conversation(inputs)  # checked now: a bad input fails before any work
            return [inputs], True
        if isinstance(inputs, (list, tuple)) and inputs:
            for item in inputs:
                cls._conversation(item)
            return list(inputs), False
        if isinstance(inputs, (list, tuple)):
            raise ValueError(f"{TAKES} got an empty {type(inputs).__name__}.")
        cls._conversation(inputs)  # raises, naming what was given
        raise AssertionError("unreachable")

    def save_pretrained(self, save_directory, **kwargs):
        """Save the model, its processor (LM tokenizer, DNA tokenizer, chat template) and this pipeline's code, so
        `pipeline(model=save_directory, trust_remote_code=True)` reloads it."""
        super().save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory, **kwargs)

    def preprocess(self, conversations, continue_final_message=None, **processor_kwargs):
        if continue_final_message is None:  # the processor names what is wrong with a malformed conversation
            prefilled = {_ends_in_assistant(conversation) for conversation in conversations}
            if len(prefilled) > 1:
                raise ValueError("This batch mixes conversations that end in a prefilled assistant turn (continued) "
                                 "with ones that end in a user turn (answered): run them in separate calls.")
            continue_final_message = prefilled.pop()
        template_kwargs = {k: processor_kwargs.pop(k) for k in ("enable_thinking", "add_dna_id")
                           if k in processor_kwargs}
        inputs = self.processor.apply_chat_template(
            conversations,
            chat_template=processor_kwargs.pop("chat_template", None),
            add_generation_prompt=not continue_final_message,
            continue_final_message=continue_final_message,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
            processor_kwargs=processor_kwargs,
            **template_kwargs,
        )
        return {"model_inputs": dict(inputs), "conversations": conversations,
                "continued": [conversation[-1]["role"] == "assistant" for conversation in conversations]
                if continue_final_message else [False] * len(conversations)}

    def _forward(self, model_inputs, generate_kwargs=None):
        inputs = model_inputs["model_inputs"]
        generate_kwargs = self._prepare_generate_kwargs(dict(generate_kwargs or {}), return_dict_in_generate=False)
        generated = self.model.generate(**inputs, **generate_kwargs)
        prompt_length = inputs["input_ids"].shape[1]
        completions = generated[:, prompt_length:]
        rows = inputs["input_ids"].shape[0]
        return {"completions": completions.reshape(rows, -1, completions.shape[-1]),
                **{key: model_inputs[key] for key in ("conversations", "continued", "prompts") if key in model_inputs}}

    def postprocess(self, model_outputs, return_full_text: bool = True, skip_special_tokens: bool = True,
                    continue_final_message=None):
        conversations = model_outputs["conversations"]
        continued = model_outputs.get("continued") or [
            bool(continue_final_message) if continue_final_message is not None else _ends_in_assistant(c)
            for c in conversations]
        prompts = model_outputs.get("prompts") or [None] * len(conversations)
        results = []
        for conversation, completions, goes_on, prompt in zip(conversations, model_outputs["completions"], continued,
                                                              prompts):
            texts = self.tokenizer.batch_decode(completions, skip_special_tokens=skip_special_tokens)
            parts = self.processor.post_process_generation(completions, skip_special_tokens=skip_special_tokens)
            prefill = _assistant_text(conversation[-1]) if goes_on else ""
            row = []
            for text, split in zip(texts, parts):
                if goes_on:  # the completion continues the prefilled turn: one assistant message, read whole
                    text = text.rstrip()
                    split = split_reasoning(prefill + self._clean(text))
                else:
                    text = text.strip()
                if return_full_text and prompt is not None:
                    text = prompt + text  # a string in, a string out: the prompt and its continuation
                elif return_full_text:
                    messages = [dict(message) for message in conversation]
                    if goes_on:
                        messages[-1]["content"] = _text_of(messages[-1]["content"]) + text
                    else:
                        messages.append({"role": "assistant", "content": text})
                    text = messages
                row.append({"generated_text": text, **split})
            results.append(row)
        return results

    def _clean(self, text: str) -> str:
        for token in (self.tokenizer.pad_token, self.tokenizer.eos_token, "<|im_end|>", "<|endoftext|>"):
            if token:
                text = text.replace(token, "")
        return text


def _ends_in_assistant(conversation) -> bool:
    last = conversation[-1] if conversation else None
    return isinstance(last, dict) and last.get("role") == "assistant"


def _batches(items, size: int):
    """`items` (an iterator, or a map-style dataset such as `KeyDataset`) in lists of `size`."""
    indexed = items
    if not isinstance(items, Iterable):
        items = (indexed[i] for i in range(len(indexed)))
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _assistant_text(message: dict) -> str:
    """A prefilled assistant turn as the model sees it: its reasoning (if given apart) in the thinking block, then
    its content."""
    reasoning = message.get("reasoning_content")
    content = _text_of(message.get("content") or "")
    return f"<think>\n{reasoning.strip()}\n</think>\n\n{content}" if reasoning else content


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if block.get("type") == "text")


__all__ = ["BioReasonPipeline", "CUSTOM_PIPELINES"]
