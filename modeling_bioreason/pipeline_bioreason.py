"""BioReasonPipeline: chat messages with DNA blocks in, reasoning and answer out.

A saved BioReason folder names this class in `config.json` (`custom_pipelines`, under the task "text-generation"), so
both doors reach it:

    pipe = pipeline(model="path/or/repo-id", trust_remote_code=True)
    pipe = pipeline("text-generation", model="path/or/repo-id", trust_remote_code=True)
    pipe([{"role": "user", "content": [{"type": "dna", "sequence": ref}, {"type": "dna", "sequence": alt},
                                       {"type": "text", "text": question}]}], max_new_tokens=800)

This file ships to the Hub next to the weights: it imports only torch, transformers and its siblings.
"""

from transformers import GenerationConfig, Pipeline
from transformers.processing_utils import ProcessorMixin

# What `save_pretrained` writes to `config.custom_pipelines`.
CUSTOM_PIPELINES = {
    "text-generation": {"impl": "pipeline_bioreason.BioReasonPipeline", "pt": ["AutoModelForCausalLM"], "type": "text"}
}
PREPROCESS_PARAMS = ("enable_thinking", "add_dna_id", "chat_template", "dna_truncation", "continue_final_message")
POSTPROCESS_PARAMS = ("return_full_text", "skip_special_tokens")


class BioReasonPipeline(Pipeline):
    r"""
    Generate a reasoned answer about the DNA in chat messages.

    Input: one conversation (a list of `{"role", "content"}` messages whose user turns hold
    `{"type": "dna", "sequence": ...}` and `{"type": "text", "text": ...}` blocks) or a list of conversations, which
    are batched `batch_size` at a time (left padding; each row's DNA stays its own).

    Keyword arguments: generation parameters (`max_new_tokens`, `do_sample`, `temperature`, `num_return_sequences`,
    `streamer`, `generation_config`, ...) go to `model.generate`; `enable_thinking`, `add_dna_id`, `chat_template`,
    `dna_truncation` go to the processor; `return_full_text` (default True) and `skip_special_tokens`.

    Output, per conversation: a list with one dict per returned sequence, `{"generated_text", "reasoning",
    "answer"}`. `generated_text` is the conversation with the new assistant message appended (the completion text
    alone with `return_full_text=False`); `reasoning` is the text inside `<think>...</think>`, `answer` what follows.

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
        """Run on one conversation (returns a list of dicts) or a list of conversations (a list of such lists)."""
        conversations, single = self._conversations(inputs)
        preprocess, forward, postprocess = self._sanitize_parameters(**kwargs)
        preprocess = {**self._preprocess_params, **preprocess}
        forward = {"generate_kwargs": {**self._forward_params.get("generate_kwargs", {}), **forward["generate_kwargs"]}}
        postprocess = {**self._postprocess_params, **postprocess}
        batch_size = batch_size or self._batch_size or 1
        self.call_count += 1
        results = []
        for start in range(0, len(conversations), batch_size):
            model_inputs = self.preprocess(conversations[start : start + batch_size], **preprocess)
            results.extend(self.postprocess(self.forward(model_inputs, **forward), **postprocess))
        return results[0] if single else results

    @staticmethod
    def _conversations(inputs) -> tuple[list[list[dict]], bool]:
        if isinstance(inputs, dict) and "messages" in inputs:
            return [list(inputs["messages"])], True
        if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(m, dict) for m in inputs):
            return [list(inputs)], True
        if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(c, (list, tuple)) for c in inputs):
            return [list(c) for c in inputs], False
        raise ValueError(
            "BioReasonPipeline takes chat messages: one conversation, a list of {'role': ..., 'content': [...]} "
            "dicts whose user turns hold {'type': 'dna', 'sequence': 'ACGT...'} and {'type': 'text', 'text': ...} "
            f"blocks, or a list of conversations; got {type(inputs).__name__}."
        )

    def preprocess(self, conversations, continue_final_message=None, **processor_kwargs):
        if continue_final_message is None:  # the processor names what is wrong with a malformed conversation
            last = conversations[0][-1] if conversations[0] else None
            continue_final_message = isinstance(last, dict) and last.get("role") == "assistant"
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
        return {"model_inputs": dict(inputs), "conversations": conversations}

    def _forward(self, model_inputs, generate_kwargs=None):
        inputs = model_inputs["model_inputs"]
        generate_kwargs = self._prepare_generate_kwargs(dict(generate_kwargs or {}), return_dict_in_generate=False)
        generated = self.model.generate(**inputs, **generate_kwargs)
        prompt_length = inputs["input_ids"].shape[1]
        completions = generated[:, prompt_length:]
        rows = inputs["input_ids"].shape[0]
        return {"completions": completions.reshape(rows, -1, completions.shape[-1]),
                "conversations": model_inputs["conversations"]}

    def postprocess(self, model_outputs, return_full_text: bool = True, skip_special_tokens: bool = True,
                    continue_final_message=None):
        results = []
        for conversation, completions in zip(model_outputs["conversations"], model_outputs["completions"]):
            texts = self.tokenizer.batch_decode(completions, skip_special_tokens=skip_special_tokens)
            parts = self.processor.post_process_generation(completions, skip_special_tokens=skip_special_tokens)
            row = []
            for text, split in zip(texts, parts):
                text = text.strip()
                if return_full_text:
                    messages = [dict(message) for message in conversation]
                    if continue_final_message:
                        messages[-1]["content"] = _text_of(messages[-1]["content"]) + text
                    else:
                        messages.append({"role": "assistant", "content": text})
                    text = messages
                row.append({"generated_text": text, **split})
            results.append(row)
        return results


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if block.get("type") == "text")


__all__ = ["BioReasonPipeline", "CUSTOM_PIPELINES"]
