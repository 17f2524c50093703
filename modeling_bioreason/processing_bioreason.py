"""BioReasonProcessor: text tokenizer + the DNA encoder's tokenizer + chat template.

Each `<|dna_pad|>` placeholder in the text expands to one token per DNA token of its sequence (counted from the DNA
attention mask), so the model can scatter the projected DNA features into exactly those positions. DNA tensors are
batch-aligned, `(batch, max_dna_per_prompt, dna_len)`, right-padded, with all-zero masks for empty slots.

This file ships to the Hub next to the weights: it imports only torch, transformers and its siblings.
"""

import json
import os
import re

import torch

from transformers.feature_extraction_utils import BatchFeature
from transformers.processing_utils import ProcessorMixin
from transformers.tokenization_utils_base import PreTrainedTokenizerBase
from transformers.tokenization_utils_tokenizers import TokenizersBackend
from transformers.utils import logging
from transformers.utils.chat_template_utils import render_jinja_template
from transformers.utils.hub import cached_file, hf_api

from .configuration_bioreason import DNA_ENCODER_CONFIGS, BioReasonConfig, dna_encoder_config_class
from .tokenization_evo2 import Evo2Tokenizer
from .tokenization_nucleotide_transformer import NucleotideTransformerTokenizer

try:  # message objects (dataclasses, pydantic models such as the OpenAI SDK's) as the dicts templates see
    from transformers.utils.chat_template_utils import _message_objects_to_dicts
except ImportError:  # a transformers without it takes plain dicts only
    def _message_objects_to_dicts(value):
        return value

logger = logging.get_logger(__name__)

# The DNA tokenizers shipped beside this file, one per encoder config in DNA_ENCODER_CONFIGS. Importing them here makes
# a saved folder carry their code at its root, where remote code loads its dna_tokenizer/ subfolder's class from.
DNA_TOKENIZERS = {"NT-v2": NucleotideTransformerTokenizer, "Evo 2": Evo2Tokenizer}

DNA_START_TOKEN = "<|dna_start|>"
DNA_PAD_TOKEN = "<|dna_pad|>"
DNA_END_TOKEN = "<|dna_end|>"
DNA_TOKENS = (DNA_START_TOKEN, DNA_PAD_TOKEN, DNA_END_TOKEN)
IUPAC_AMBIGUITY_CODES = "RYSWKMBDHV"
DNA_TRUNCATION = (None, "right", "left", "center")  # None: a DNA sequence over max_dna_tokens is an error
IGNORE_INDEX = -100

# The chat template lives in chat_template.jinja next to this file (package data). A saved processor writes it to its
# own folder and loads it from there, so the Hub copy of this module never needs the file.
def _read_chat_template() -> str | None:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chat_template.jinja")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


CHAT_TEMPLATE = _read_chat_template()
BLOCK_TYPES = ("text", "dna")
# What each content block looks like, for error messages.
BLOCK_FORMATS = '{"type": "text", "text": "..."} or {"type": "dna", "sequence": "ACGT..."}'
CALL_KWARGS = ("text", "dna", "padding", "padding_side", "truncation", "max_length", "dna_truncation",
               "return_tensors", "assistant_spans", "add_special_tokens")


# The roles the chat template renders; any other role would vanish from the prompt.
ROLES = ("system", "user", "assistant", "tool")
ROLE_HINTS = {"human": "user", "gpt": "assistant", "model": "assistant", "bot": "assistant", "ai": "assistant",
              "developer": "system", "function": "tool", "ipython": "tool"}
MESSAGE_FORMAT = '{"role": "user", "content": "..." or [content blocks]}'


def check_conversations(conversation, check_roles: bool = True) -> None:
    """
    Raise a `ValueError` for chat input the template would render wrongly (drop, garble or crash on), naming the
    conversation and message index, what was found and what is accepted: an empty conversation, a message that is
    not a dict, a role the template does not render (`check_roles`), content that is neither a str nor a list of
    blocks, a tool message with blocks, a block that is not one of the known types or that mixes text and DNA, DNA
    outside user messages, non-string reasoning.

    >>> check_conversations([{"role": "user", "content": [{"type": "text", "text": "Which disease?"}]}])
    >>> check_conversations([{"role": "human", "content": "Which disease?"}])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Message 0: role 'human' is not rendered by the BioReason chat template (did you mean 'user'?); ...
    """
    if isinstance(conversation, (str, bytes)):
        raise ValueError(f"apply_chat_template takes chat messages, a list of {MESSAGE_FORMAT} dicts (or a list of "
                         "such lists); got a str. Pre-rendered text goes to processor(text=..., dna=...).")
    conversation = getattr(conversation, "messages", conversation)
    if not isinstance(conversation, (list, tuple)):
        raise ValueError(f"apply_chat_template takes chat messages, a list of {MESSAGE_FORMAT} dicts (or a list of "
                         f"such lists); got {type(conversation).__name__}.")
    if not conversation:
        raise ValueError("The conversation is empty: give at least one message, e.g. "
                         f"[{MESSAGE_FORMAT}].")
    batched = isinstance(conversation[0], (list, tuple)) or hasattr(conversation[0], "messages")
    for row, messages in enumerate(conversation if batched else [conversation]):
        prefix = f"Conversation {row}, message" if batched else "Message"
        messages = getattr(messages, "messages", messages)
        if not isinstance(messages, (list, tuple)):
            raise ValueError(f"Conversation {row} is {type(messages).__name__}, not a list of messages: a batch is "
                             f"a list of conversations, each a list of {MESSAGE_FORMAT} dicts.")
        if not messages:
            raise ValueError(f"Conversation {row} is empty: give at least one message.")
        for turn, message in enumerate(_message_objects_to_dicts(list(messages))):
            _check_message(message, f"{prefix} {turn}", check_roles)


def _check_message(message, where: str, check_roles: bool) -> None:
    if not isinstance(message, dict):
        raise ValueError(f"{where} is {type(message).__name__} {message!r:.60}; each message is a dict "
                         f"{MESSAGE_FORMAT}.")
    role = message.get("role")
    if check_roles and role not in ROLES:
        hint = ROLE_HINTS.get(str(role).lower(), str(role).lower() if str(role).lower() in ROLES else None)
        raise ValueError(
            f"{where}: role {role!r} is not rendered by the BioReason chat template"
            + (f" (did you mean {hint!r}?)" if hint else "") + f"; accepted roles: {', '.join(map(repr, ROLES))}."
        )
    where = f"{where} ({role})"
    content = message.get("content")
    if content is None:
        if role != "assistant":  # an assistant turn may be empty (a prefill, or tool calls only)
            raise ValueError(f"{where} has no content; give a str or a list of blocks, {BLOCK_FORMATS}.")
    elif role == "tool" and not isinstance(content, str):
        raise ValueError(f"{where}: a tool message's content is the tool's result as a str; got "
                         f"{type(content).__name__} {content!r:.80}.")
    elif isinstance(content, dict):
        raise ValueError(f"{where}: content is a dict; it must be a str or a list of blocks: wrap the block in a "
                         f"list, [{content!r:.80}].")
    elif isinstance(content, (list, tuple)):
        for index, block in enumerate(content):
            _check_block(block, f"{where}, block {index}", role)
    elif not isinstance(content, str):
        raise ValueError(f"{where}: content must be a str or a list of blocks, {BLOCK_FORMATS}; got "
                         f"{type(content).__name__} {content!r:.60}.")
    reasoning = message.get("reasoning_content")
    if reasoning is not None and not isinstance(reasoning, str):
        raise ValueError(f"{where}: reasoning_content must be a str; got {type(reasoning).__name__} "
                         f"{reasoning!r:.60}.")


def _check_block(block, where: str, role) -> None:
    if not isinstance(block, dict):
        raise ValueError(f"{where}: a content block must be a dict, {BLOCK_FORMATS}; got {block!r:.80}.")
    block = {key: value for key, value in block.items() if value is not None}  # as rendered: None is absent
    kind = block.get("type", "dna" if "dna" in block else None)
    if kind not in BLOCK_TYPES:
        hint = " (DNA blocks are typed 'dna', lower case)" if str(kind).lower() in (
            "dna", "sequence", "nucleotide", "genome") else ""
        raise ValueError(f"{where}: unknown content block type {kind!r}{hint}; BioReasonProcessor knows "
                         f"{BLOCK_FORMATS}.")
    carried = {key for key in ("text", "sequence", "dna") if key in block}
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise ValueError(f"{where}: a text block needs a str under 'text'; got {block!r:.120}.")
        if carried - {"text"}:
            raise ValueError(f"{where}: a text block also carries {sorted(carried - {'text'})}; one block holds "
                             f"either text or DNA: split it into {BLOCK_FORMATS}.")
        return
    if role != "user":
        raise ValueError(f"{where}: DNA blocks go in user messages; the chat template renders no DNA in {role!r} "
                         "messages.")
    # (A DNA block without a sequence renders its placeholder, as BioReason's own prompts do; tokenizing needs one.)
    if "text" in carried or carried >= {"sequence", "dna"}:
        raise ValueError(f"{where}: a DNA block carries {sorted(carried)}; it holds one sequence under 'sequence' "
                         f"only (put text in its own block): {BLOCK_FORMATS}.")


def check_text_and_dna(text, dna) -> None:
    """
    Raise a `ValueError` unless `text` is a str or a non-empty list of str (rendered prompts) and `dna` is None, a
    str or list of str (one prompt), or one list of str per prompt, naming the row and what was found.
    """
    texts = [text] if isinstance(text, str) else text
    if not isinstance(texts, (list, tuple)) or not texts:
        raise ValueError(f"text= must be a str or a non-empty list of str (rendered prompts); got "
                         f"{type(text).__name__} {text!r:.60}.")
    for row, item in enumerate(texts):
        if isinstance(item, (dict, list, tuple)):
            raise ValueError(f"text= row {row} is {type(item).__name__}: chat messages go to "
                             "processor.apply_chat_template(messages, tokenize=True); processor(text=...) takes "
                             "rendered prompts (str).")
        if not isinstance(item, str):
            raise ValueError(f"text= row {row} is {type(item).__name__} {item!r:.60}; expected a str.")
    if dna is None or (isinstance(text, str) and isinstance(dna, str)):
        return
    if not isinstance(dna, (list, tuple)):
        raise ValueError(f"dna= must be a list of DNA sequences (str) per prompt; got {type(dna).__name__} "
                         f"{dna!r:.60}.")
    single = isinstance(text, str) and all(isinstance(seq, str) for seq in dna)
    for row, sequences in enumerate([dna] if single else dna):
        if isinstance(sequences, str):
            continue  # a str where a row's list belongs: named by the caller's row checks
        if not isinstance(sequences, (list, tuple)):
            raise ValueError(f"dna= row {row} is {type(sequences).__name__} {sequences!r:.60}; each prompt's "
                             "DNA is a list of sequences (str).")
        for index, sequence in enumerate(sequences):
            if not isinstance(sequence, str):
                raise ValueError(f"dna= row {row}, sequence {index} is {type(sequence).__name__} "
                                 f"{sequence!r:.60}; each DNA sequence is a str of bases.")


def _fits(tokenizer, encoder_config_class) -> bool:
    """Whether `tokenizer` gives the ids that the encoder's config says its tokenizer gives its probe DNA, adding
    only the special tokens that config allows."""
    dna, ids = encoder_config_class.tokenizer_probe
    ids, allowed = list(ids), set(getattr(encoder_config_class, "tokenizer_special_ids", ()))
    try:
        full = list(tokenizer(dna, add_special_tokens=True)["input_ids"])
    except Exception:  # not a tokenizer, or one that cannot read DNA: it does not fit
        return False
    starts = [i for i in range(len(full) - len(ids) + 1) if full[i : i + len(ids)] == ids]
    return bool(starts) and set(full[: starts[0]] + full[starts[0] + len(ids) :]) <= allowed


def _describe_tokenizer(tokenizer) -> str:
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
    source = getattr(tokenizer, "name_or_path", "") or "an object"
    return f"{type(tokenizer).__name__} with {len(vocab)} vocabulary entries (from {source})"


def check_dna_tokenizer(tokenizer, encoder_type: str | None = None) -> str:
    """
    The `model_type` of the DNA encoder whose tokenizer `tokenizer` is: it must tokenize DNA exactly as that
    encoder's config says (`tokenizer_probe`). With `encoder_type`, it must be that encoder's; without, any encoder
    shipped with this code. Raises naming what was expected and what was given.
    """
    if encoder_type is not None:
        try:
            expected = dna_encoder_config_class(encoder_type)
        except ValueError as error:
            raise ValueError(f"{error} The DNA tokenizer is {_describe_tokenizer(tokenizer)}.") from None
        if not hasattr(expected, "tokenizer_probe"):
            raise ValueError(f"The DNA encoder {encoder_type!r} declares no tokenizer_probe: BioReason cannot check "
                             "its tokenizer (see configuration_bioreason.py for what an encoder declares).")
        if _fits(tokenizer, expected):
            return encoder_type
        actual = next((kind for kind, config in DNA_ENCODER_CONFIGS.items() if _fits(tokenizer, config)), None)
        given = f"{DNA_ENCODER_CONFIGS[actual].tokenizer_description}, for a {actual!r} encoder" if actual else \
            "no DNA tokenizer BioReason knows"
        raise ValueError(
            f"The DNA tokenizer does not match the DNA encoder: the model's encoder is {encoder_type!r}, which needs "
            f"{expected.tokenizer_description}; the DNA tokenizer is {_describe_tokenizer(tokenizer)}: {given}. "
            "Pair the model with the processor saved beside it, or build both with modeling_bioreason.build_bioreason."
        )
    for kind, config in DNA_ENCODER_CONFIGS.items():
        if _fits(tokenizer, config):
            return kind
    wanted = " or ".join(config.tokenizer_description for config in DNA_ENCODER_CONFIGS.values())
    raise ValueError(
        f"dna_tokenizer must be the DNA encoder's tokenizer, {wanted}; got {_describe_tokenizer(tokenizer)}. A saved "
        "BioReason folder keeps it in its dna_tokenizer/ subfolder (tokenizer_config.json, config.json and its "
        "files); re-save the processor with this package, or pass the encoder's tokenizer ("
        + ", ".join(f"dna_tokenizer={tokenizer.__name__}() for {name}" for name, tokenizer in DNA_TOKENIZERS.items())
        + ")."
    )


def normalize_dna_sequence(sequence: str, iupac: str = "error") -> str:
    """
    Validate one DNA sequence and return it upper-cased.

    Policy: surrounding whitespace is stripped and lower case is upper-cased. Everything else that is not A, C, G, T
    or N is an error: whitespace inside the sequence, a FASTA header, an empty sequence, and (unless
    `iupac="to_n"`, which maps them to `N`) IUPAC ambiguity codes such as R or Y.

    >>> normalize_dna_sequence("acgtn\\n")
    'ACGTN'
    >>> normalize_dna_sequence("ACRT", iupac="to_n")
    'ACNT'
    """
    if not isinstance(sequence, str):
        raise TypeError(f"A DNA sequence must be a str, got {type(sequence).__name__}.")
    sequence = sequence.strip()
    if not sequence:
        raise ValueError("Empty DNA sequence: every DNA block needs at least one base.")
    if sequence.startswith(">"):
        raise ValueError(
            f"DNA sequence starts with a FASTA header ({sequence.splitlines()[0][:40]!r}): pass the bases only."
        )
    sequence = sequence.upper()
    bad = re.search(r"[^ACGTN]", sequence)
    if bad is None:
        return sequence
    if iupac == "to_n":
        sequence = re.sub(f"[{IUPAC_AMBIGUITY_CODES}]", "N", sequence)
        bad = re.search(r"[^ACGTN]", sequence)
        if bad is None:
            return sequence
    char, position = bad.group(), bad.start()
    if char.isspace():
        raise ValueError(f"DNA sequence has whitespace at position {position}: join multi-line sequences first.")
    hint = " (an IUPAC ambiguity code: pass iupac='to_n' to read it as N)" if char in IUPAC_AMBIGUITY_CODES else ""
    raise ValueError(
        f"DNA sequence has invalid character {char!r} at position {position}{hint}; allowed: A, C, G, T, N."
    )


def special_dna_tokens(dna_tokenizer) -> tuple[int, int]:
    """How many special tokens a DNA tokenizer puts before and after a sequence (NT-v2: `<cls>`, 0; Evo 2: 0, 0)."""
    marked = dna_tokenizer.build_inputs_with_special_tokens([-1])
    return marked.index(-1), len(marked) - marked.index(-1) - 1


def fit_dna_tokens(ids: list[int], limit: int, side: str | None, special: tuple[int, int], where: str) -> list[int]:
    """
    One sequence's DNA tokens within `limit` (`max_dna_tokens`): over it, an error naming `where` and the numbers
    (`side=None`), or cut as asked and logged: `"right"` / `"left"` cut that end (as a tokenizer's truncation_side),
    `"center"` keeps the middle. The special tokens around the sequence (`special`: before, after) are kept.

    >>> fit_dna_tokens([3, 10, 11, 12, 13], 3, "center", (1, 0), "Row 0")
    [3, 11, 12]
    """
    if len(ids) <= limit:
        return ids
    if side is None:
        raise ValueError(
            f"{where}: {len(ids)} DNA tokens exceed max_dna_tokens={limit}. Shorten the window, raise "
            "max_dna_tokens (the encoder must support it), or pass dna_truncation='center' | 'left' | 'right'."
        )
    if side not in DNA_TRUNCATION:
        raise ValueError(f"dna_truncation={side!r}; expected one of {DNA_TRUNCATION}.")
    before, after = special
    body = ids[before : len(ids) - after]
    keep = limit - before - after
    start = {"right": 0, "left": len(body) - keep, "center": (len(body) - keep) // 2}[side]
    kept = "the middle kept" if side == "center" else f"cut on the {side}"
    logger.warning(f"{where}: truncated from {len(ids)} to {limit} DNA tokens ({kept}).")
    return ids[:before] + body[start : start + keep] + ids[len(ids) - after :]


def split_reasoning(text: str) -> dict[str, str]:
    """
    `{"reasoning": ..., "answer": ...}`: the text inside `<think>...</think>` and what follows it.

    >>> split_reasoning("<think>\\nStep 1\\n</think>\\n\\nAnswer: melanoma")
    {'reasoning': 'Step 1', 'answer': 'Answer: melanoma'}
    >>> split_reasoning("<think>\\nStep 1, cut off by max_new_tokens")  # unfinished thinking: no answer yet
    {'reasoning': 'Step 1, cut off by max_new_tokens', 'answer': ''}
    """
    reasoning, answer = "", text
    if "</think>" in text:
        reasoning, answer = text.split("</think>", 1)
        reasoning = reasoning.split("<think>", 1)[-1]
    elif "<think>" in text:
        reasoning, answer = text.split("<think>", 1)[1], ""
    return {"reasoning": reasoning.strip(), "answer": answer.strip()}


class BioReasonProcessor(ProcessorMixin):
    r"""
    Turns chat messages with DNA blocks, or pre-rendered text plus DNA sequences, into model inputs.

    Args:
        tokenizer: the LM's tokenizer, with `<|dna_start|>`, `<|dna_pad|>`, `<|dna_end|>` added.
        dna_tokenizer: the DNA encoder's tokenizer (saved in the `dna_tokenizer/` subfolder); default: the published
            NT-v2 one; `processor.dna_encoder_type` is then the `model_type` of the encoder it tokenizes for.
        chat_template: defaults to the Qwen3-style template with DNA blocks.
        max_dna_tokens: longest DNA token sequence accepted (default: the DNA tokenizer's `model_max_length`: 2,048
            for NT-v2 and for Evo 2, whose tokenizer BioReason builds with the paper's 2,048-base budget).
        dna_truncation: the policy for a DNA sequence over `max_dna_tokens` when a call does not give one: `None`
            (default: an error naming it), or `"right"` / `"left"` (cut that end), `"center"` (keep the middle),
            each truncation logged.
        iupac: `"error"` (default) or `"to_n"`: what to do with IUPAC ambiguity codes in DNA.

    Example:

    ```python
    >>> processor = AutoProcessor.from_pretrained("path/to/bioreason", trust_remote_code=True)  # doctest: +SKIP
    >>> messages = [{"role": "user", "content": [
    ...     {"type": "dna", "sequence": "ACGTACGTAC"}, {"type": "dna", "sequence": "ACGTTCGTAC"},
    ...     {"type": "text", "text": "What disease does this variant contribute to?"}]}]
    >>> inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
    ...                                        return_dict=True, return_tensors="pt")  # doctest: +SKIP
    >>> sorted(inputs.keys())  # doctest: +SKIP
    ['attention_mask', 'dna_attention_mask', 'dna_input_ids', 'input_ids']
    ```
    """

    def __init__(
        self,
        tokenizer=None,
        dna_tokenizer=None,
        chat_template: str | None = None,
        max_dna_tokens: int | None = None,
        iupac: str = "error",
        dna_truncation: str | None = None,
        **kwargs,
    ):
        if chat_template is None:
            chat_template = CHAT_TEMPLATE or getattr(tokenizer, "chat_template", None)
        if chat_template is None:
            raise ValueError("No chat template: pass chat_template= (the package's chat_template.jinja).")
        if dna_tokenizer is None:
            dna_tokenizer = NucleotideTransformerTokenizer()
        self.dna_encoder_type = check_dna_tokenizer(dna_tokenizer)
        if iupac not in ("error", "to_n"):
            raise ValueError(f"iupac={iupac!r}; expected 'error' or 'to_n'.")
        if dna_truncation not in DNA_TRUNCATION:
            raise ValueError(f"dna_truncation={dna_truncation!r}; expected one of {DNA_TRUNCATION}.")
        self.max_dna_tokens = max_dna_tokens
        self.iupac = iupac
        self.dna_truncation = dna_truncation
        super().__init__(tokenizer, dna_tokenizer, chat_template=chat_template, **kwargs)
        missing = [token for token in DNA_TOKENS if token not in tokenizer.get_vocab()]
        if missing:
            raise ValueError(
                f"The text tokenizer lacks the DNA tokens {missing}; build the model and processor with "
                "modeling_bioreason.build_bioreason, which adds them."
            )
        self.dna_token_id = tokenizer.convert_tokens_to_ids(DNA_PAD_TOKEN)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """`ProcessorMixin.from_pretrained`; the folder's model (`config.json`, if any) must have the DNA encoder
        whose tokenizer this processor holds."""
        processor = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        download = {key: kwargs[key] for key in ("cache_dir", "force_download", "local_files_only", "token",
                                                 "revision", "subfolder") if key in kwargs}
        config_file = cached_file(pretrained_model_name_or_path, "config.json", **download,
                                  _raise_exceptions_for_missing_entries=False,
                                  _raise_exceptions_for_connection_errors=False)
        if config_file is not None:
            with open(config_file, encoding="utf-8") as handle:
                dna_config = json.load(handle).get("dna_config")
            if isinstance(dna_config, dict):  # a BioReason model's config (the default encoder when it names none)
                default = BioReasonConfig.sub_configs_defaults["dna_config"].model_type
                encoder_type = dna_config.get("model_type") or default
                if encoder_type != processor.dna_encoder_type:
                    try:
                        check_dna_tokenizer(processor.dna_tokenizer, encoder_type)
                    except ValueError as error:
                        raise ValueError(f"{pretrained_model_name_or_path}: {error}") from None
        return processor

    def save_pretrained(self, save_directory, push_to_hub: bool = False, **kwargs):
        # AutoTokenizer.from_pretrained(repo_id, subfolder="dna_tokenizer") reads a config.json there before the
        # tokenizer files; without one, loading by repo id falls back to the root (the text) tokenizer.
        os.makedirs(save_directory, exist_ok=True)
        if push_to_hub:  # upload after the extra file is written
            commit_message = kwargs.pop("commit_message", None)
            repo_id = kwargs.pop("repo_id", str(save_directory).split(os.path.sep)[-1])
            repo_id = hf_api().create_repo(repo_id, exist_ok=True, **kwargs).repo_id
            files_timestamps = self._get_files_timestamps(save_directory)
        result = super().save_pretrained(save_directory)
        # No model_type: this folder holds no model, only the tokenizer that its tokenizer_config.json names.
        config = {"tokenizer_class": type(self.dna_tokenizer).__name__}
        with open(os.path.join(save_directory, "dna_tokenizer", "config.json"), "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2)
        if push_to_hub:
            self._upload_modified_files(
                save_directory, repo_id, files_timestamps, commit_message=commit_message, token=kwargs.get("token")
            )
        return result

    @property
    def model_input_names(self) -> list[str]:
        return ["input_ids", "attention_mask", "dna_input_ids", "dna_attention_mask"]

    # ----------------------------------------------------------------------------------------------- chat template
    def apply_chat_template(
        self,
        conversation,
        chat_template: str | None = None,
        tools: list[dict] | None = None,
        documents: list[dict] | None = None,
        add_generation_prompt: bool = False,
        continue_final_message: bool = False,
        return_assistant_tokens_mask: bool = False,
        tokenize: bool = False,
        return_tensors: str | None = None,
        return_dict: bool = False,
        processor_kwargs: dict | None = None,
        **template_kwargs,
    ):
        """
        Render conversations whose user turns hold `{"type": "dna", "sequence": ...}` and `{"type": "text", ...}`
        blocks. With `tokenize=True` the DNA blocks are collected in order and tokenized with the text; with
        `return_assistant_tokens_mask=True` the output also holds `assistant_masks` and `labels` (the assistant
        turns, each with its closing `<|im_end|>`; everything else -100) and is right-padded for training.
        Extra keyword arguments (e.g. `enable_thinking=False`, `add_dna_id=True`) reach the template.
        """
        conversations, is_batched = self._checked_conversations(conversation, chat_template)
        prompts, generation_indices = render_jinja_template(
            conversations=conversations,
            tools=tools,
            documents=documents,
            chat_template=self._resolve_chat_template(chat_template),
            return_assistant_tokens_mask=return_assistant_tokens_mask,
            continue_final_message=continue_final_message,
            add_generation_prompt=add_generation_prompt,
            **template_kwargs,
        )
        if not tokenize:
            return prompts if is_batched else prompts[0]

        dna_sequences = [self._dna_blocks(messages, row) for row, messages in enumerate(conversations)]
        outputs = self(
            text=prompts,
            dna=dna_sequences,
            assistant_spans=generation_indices if return_assistant_tokens_mask else None,
            return_tensors=return_tensors,
            **(processor_kwargs or {}),
        )
        return outputs if return_dict else outputs["input_ids"]

    def _checked_conversations(self, conversation, chat_template: str | None) -> tuple[list[list[dict]], bool]:
        """The conversations, batched and normalised as transformers does, after `check_conversations` (the roles
        are checked against this processor's template only: a caller's own `chat_template` may render others)."""
        own_template = chat_template is None or chat_template == self.chat_template
        check_conversations(conversation, check_roles=own_template)
        conversations, is_batched = self._normalize_conversations(conversation)
        for message in (message for messages in conversations for message in messages):
            if isinstance(message.get("content"), list):  # `datasets` rows hold absent block keys as None
                message["content"] = [{k: v for k, v in block.items() if v is not None} for block in message["content"]]
        return conversations, is_batched

    @staticmethod
    def _dna_blocks(messages: list[dict], row: int) -> list[str]:
        sequences = []
        for turn, message in enumerate(messages):
            content = message.get("content")
            if not isinstance(content, list):
                continue
            for block in content:
                if isinstance(block, dict) and (block.get("type") == "dna" or "dna" in block):
                    sequence = block.get("sequence", block.get("dna"))
                    if not isinstance(sequence, str):
                        raise ValueError(
                            f"Conversation {row}, message {turn}: a DNA block needs its bases under 'sequence', "
                            f'e.g. {{"type": "dna", "sequence": "ACGT..."}}; got {block!r:.120}.'
                        )
                    sequences.append(sequence)
        return sequences

    # ----------------------------------------------------------------------------------------------- tokenization
    def __call__(
        self,
        text: str | list[str] | None = None,
        dna: str | list[str] | list[list[str]] | None = None,
        padding: bool | str = True,
        padding_side: str | None = None,
        truncation: bool = False,
        max_length: int | None = None,
        dna_truncation: str | None = None,
        return_tensors: str | None = None,
        assistant_spans: list[list[tuple[int, int]]] | None = None,
        add_special_tokens: bool | None = None,
        dna_sequences: list[str] | list[list[str]] | None = None,
        images=None,
        videos=None,
        audio=None,
        **kwargs,
    ) -> BatchFeature:
        """
        Tokenize pre-rendered text (with one `<|dna_pad|>` per DNA sequence) and the DNA sequences of each row.

        Args:
            text: one string or a batch.
            dna: per row, the DNA sequences in placeholder order (a flat list, or one str, for a single string).
                `dna_sequences=` is an alias. `images=`, `videos=`, `audio=` are accepted only as None (callers such as
                TRL pass them); any other keyword is an error.
            padding: `True`/`"longest"`, `"max_length"` or `False`.
            padding_side: defaults to left for generation and right when `assistant_spans` (training) are given.
            truncation, max_length: cut text tokens beyond `max_length`; an error if the cut would remove
                DNA placeholders.
            dna_truncation: `None` (default: the processor's `dna_truncation`, itself None by default: a DNA sequence
                over `max_dna_tokens` is an error), or `"right"` / `"left"` to cut that end, `"center"` to keep the
                middle; each truncation is logged.
            assistant_spans: character spans to supervise per row (from the chat template's generation blocks);
                adds `assistant_masks` and `labels`.
        """
        if kwargs:
            raise TypeError(
                f"BioReasonProcessor got unknown keyword argument(s) {sorted(kwargs)}; it accepts "
                f"{', '.join(name + '=' for name in CALL_KWARGS)} (and dna_sequences= as an alias of dna=)."
            )
        for name, value in (("images", images), ("videos", videos), ("audio", audio)):
            if value is not None:
                raise ValueError(f"BioReasonProcessor takes text and DNA (dna=), not {name}=.")
        if dna_sequences is not None:
            if dna is not None:
                raise ValueError("Pass the DNA once: dna= (dna_sequences= is its alias), not both.")
            dna = dna_sequences
        if text is None:
            raise ValueError("BioReasonProcessor needs `text` (use apply_chat_template for chat messages).")
        check_text_and_dna(text, dna)
        texts = [text] if isinstance(text, str) else list(text)
        dna_sequences = dna
        if dna_sequences is None:
            dna_sequences = [[] for _ in texts]
        elif isinstance(text, str) and isinstance(dna_sequences, str):
            dna_sequences = [[dna_sequences]]
        elif isinstance(text, str) and all(isinstance(seq, str) for seq in dna_sequences):
            dna_sequences = [list(dna_sequences)]
        if len(dna_sequences) != len(texts):
            raise ValueError(f"Got {len(texts)} texts but DNA sequences for {len(dna_sequences)} rows.")
        for row, (row_text, row_dna) in enumerate(zip(texts, dna_sequences)):
            if isinstance(row_dna, str):
                raise ValueError(f"Row {row}: dna= must hold a list of sequences per row, got a str.")
            n_blocks = row_text.count(DNA_PAD_TOKEN)
            if n_blocks != len(row_dna):
                raise ValueError(
                    f"Row {row}: the text has {n_blocks} {DNA_PAD_TOKEN} placeholder(s) but {len(row_dna)} DNA "
                    "sequence(s) were given; each DNA block needs exactly one sequence."
                )

        dna_ids = self._tokenize_dna(dna_sequences, dna_truncation if dna_truncation is not None else
                                     self.dna_truncation)
        if add_special_tokens is None:
            bos = self.tokenizer.bos_token
            add_special_tokens = not (bos is not None and all(t.startswith(bos) for t in texts))
        need_offsets = assistant_spans is not None
        encoded = self._encode_text(texts, add_special_tokens, need_offsets)

        rows_ids, rows_masks = [], []
        for row, ids in enumerate(encoded["input_ids"]):
            ids = torch.tensor(ids, dtype=torch.long)
            is_placeholder = ids == self.dna_token_id
            if int(is_placeholder.sum()) != len(dna_ids[row]):
                raise ValueError(
                    f"Row {row}: {DNA_PAD_TOKEN} did not tokenize to one token per DNA block; check the tokenizer."
                )
            repeats = torch.ones(len(ids), dtype=torch.long)
            repeats[is_placeholder] = torch.tensor([len(seq) for seq in dna_ids[row]], dtype=torch.long)
            rows_ids.append(ids.repeat_interleave(repeats))
            if need_offsets:
                offsets = torch.tensor(encoded["offset_mapping"][row], dtype=torch.long).reshape(-1, 2)
                span_mask = self._span_mask(offsets, assistant_spans[row]) & ~is_placeholder
                rows_masks.append(span_mask.repeat_interleave(repeats))

        if max_length is not None and truncation:
            rows_ids, rows_masks = self._truncate_text(rows_ids, rows_masks, max_length)
        if padding_side is None:
            padding_side = "right" if need_offsets else "left"
        data = self._pad_text(rows_ids, rows_masks, padding, padding_side, max_length)
        if any(dna_ids):
            data.update(self._pad_dna(dna_ids))
        return BatchFeature(data=data, tensor_type=return_tensors)

    def _encode_text(self, texts: list[str], add_special_tokens: bool, need_offsets: bool) -> dict:
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        # Without offsets, with transformers' own encode path (no subclass override) and no truncation or padding
        # configured on the Rust tokenizer, the Python wrapper adds nothing but time (a third of a call on 2 kb
        # prompts). The wrapper sets `encode_special_tokens` on every call; so does this path.
        if (not need_offsets and backend is not None and hasattr(backend, "encode_batch_fast")
                and type(self.tokenizer).__call__ is PreTrainedTokenizerBase.__call__
                and getattr(type(self.tokenizer), "_encode_plus", None) is getattr(TokenizersBackend, "_encode_plus", 0)
                and backend.truncation is None and backend.padding is None):
            backend.encode_special_tokens = bool(getattr(self.tokenizer, "split_special_tokens", False))
            encodings = backend.encode_batch_fast(texts, add_special_tokens=add_special_tokens)
            return {"input_ids": [encoding.ids for encoding in encodings]}
        return self.tokenizer(texts, add_special_tokens=add_special_tokens, return_offsets_mapping=need_offsets)

    def _tokenize_dna(self, dna_sequences: list[list[str]], dna_truncation: str | None) -> list[list[list[int]]]:
        flat = [normalize_dna_sequence(seq, self.iupac) for row in dna_sequences for seq in row]
        if not flat:
            return [[] for _ in dna_sequences]
        flat_ids = self.dna_tokenizer(flat, add_special_tokens=True, padding=False)["input_ids"]
        limit = self.max_dna_tokens or self.dna_tokenizer.model_max_length
        per_row, position = [], 0
        for row, sequences in enumerate(dna_sequences):
            row_ids = []
            for index in range(len(sequences)):
                ids = flat_ids[position]
                if len(ids) > limit:
                    ids = self._truncate_dna(ids, limit, dna_truncation, row, index, len(flat[position]))
                position += 1
                row_ids.append(ids)
            per_row.append(row_ids)
        return per_row

    @property
    def max_dna_bases(self) -> int:
        """
        The longest window of unambiguous DNA (bp) that fits `max_dna_tokens`: 6 bp per token after `<cls>` with NT-v2,
        one base per token with a byte tokenizer. (`N` can take more tokens; the token count is still checked.)
        """
        limit = self.max_dna_tokens or self.dna_tokenizer.model_max_length
        before, after = self._special_dna_tokens()
        probe = "ACGT" * 150
        per_token = len(probe) / len(self.dna_tokenizer(probe, add_special_tokens=False)["input_ids"])
        return int((limit - before - after) * per_token)

    def _special_dna_tokens(self) -> tuple[int, int]:
        return special_dna_tokens(self.dna_tokenizer)

    def _truncate_dna(self, ids, limit, side, row, index, bases):
        return fit_dna_tokens(ids, limit, side, self._special_dna_tokens(), f"Row {row}, DNA sequence {index} "
                              f"({bases} bp)")

    @staticmethod
    def _span_mask(offsets: torch.Tensor, spans: list[tuple[int, int]]) -> torch.Tensor:
        """Tokens overlapping any character span (zero-width tokens never match)."""
        if not spans:
            return torch.zeros(len(offsets), dtype=torch.bool)
        spans = torch.tensor(spans, dtype=torch.long).reshape(-1, 2)
        starts, ends = offsets[:, :1], offsets[:, 1:]
        return ((starts < spans[:, 1]) & (ends > spans[:, 0]) & (ends > starts)).any(dim=1)

    def _truncate_text(self, rows_ids, rows_masks, max_length):
        side = self.tokenizer.truncation_side
        for row, ids in enumerate(rows_ids):
            if len(ids) <= max_length:
                continue
            kept = slice(0, max_length) if side == "right" else slice(len(ids) - max_length, None)
            if int((ids == self.dna_token_id).sum()) != int((ids[kept] == self.dna_token_id).sum()):
                raise ValueError(
                    f"Row {row}: truncating {len(ids)} tokens to max_length={max_length} would cut DNA placeholders; "
                    "raise max_length or shorten the text or DNA."
                )
            rows_ids[row] = ids[kept]
            if rows_masks:
                rows_masks[row] = rows_masks[row][kept]
        return rows_ids, rows_masks

    def _pad_text(self, rows_ids, rows_masks, padding, padding_side, max_length) -> dict:
        lengths = [len(ids) for ids in rows_ids]
        if padding is False or padding == "do_not_pad":
            data = {"input_ids": [ids.tolist() for ids in rows_ids], "attention_mask": [[1] * n for n in lengths]}
            if rows_masks:
                data["assistant_masks"] = [mask.long().tolist() for mask in rows_masks]
                data["labels"] = [torch.where(m, ids, IGNORE_INDEX).tolist() for ids, m in zip(rows_ids, rows_masks)]
            return data
        width = max(lengths) if padding in (True, "longest") or max_length is None else max(max_length, max(lengths))
        if self.tokenizer.pad_token_id is None:
            raise ValueError("The text tokenizer has no pad token; set one that is not the EOS token.")
        input_ids = torch.full((len(rows_ids), width), self.tokenizer.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows_ids), width), dtype=torch.long)
        assistant_masks = torch.zeros((len(rows_ids), width), dtype=torch.long)
        for row, ids in enumerate(rows_ids):
            cols = slice(0, len(ids)) if padding_side == "right" else slice(width - len(ids), width)
            input_ids[row, cols] = ids
            attention_mask[row, cols] = 1
            if rows_masks:
                assistant_masks[row, cols] = rows_masks[row]
        data = {"input_ids": input_ids, "attention_mask": attention_mask}
        if rows_masks:
            data["assistant_masks"] = assistant_masks
            data["labels"] = torch.where(assistant_masks.bool(), input_ids, IGNORE_INDEX)
        return data

    def _pad_dna(self, dna_ids: list[list[list[int]]]) -> dict:
        slots = max(len(row) for row in dna_ids)
        length = max(len(seq) for row in dna_ids for seq in row)
        dna_input_ids = torch.full((len(dna_ids), slots, length), self.dna_tokenizer.pad_token_id, dtype=torch.long)
        dna_attention_mask = torch.zeros((len(dna_ids), slots, length), dtype=torch.long)
        for row, sequences in enumerate(dna_ids):
            for slot, ids in enumerate(sequences):
                dna_input_ids[row, slot, : len(ids)] = torch.tensor(ids, dtype=torch.long)
                dna_attention_mask[row, slot, : len(ids)] = 1
        return {"dna_input_ids": dna_input_ids, "dna_attention_mask": dna_attention_mask}

    # ----------------------------------------------------------------------------------------------- decoding
    def post_process_generation(self, generated_ids, skip_special_tokens: bool = True) -> list[dict[str, str]]:
        """
        Decode generated tokens (the completion only) into `{"reasoning": ..., "answer": ...}` per row: the text
        inside `<think>...</think>` and what follows it.
        """
        if isinstance(generated_ids, torch.Tensor) and generated_ids.dim() == 1:
            generated_ids = generated_ids.unsqueeze(0)
        texts = self.tokenizer.batch_decode(generated_ids, skip_special_tokens=False)
        results = []
        for text in texts:
            for token in (self.tokenizer.pad_token, self.tokenizer.eos_token, "<|im_end|>", "<|endoftext|>"):
                if skip_special_tokens and token:
                    text = text.replace(token, "")
            results.append(split_reasoning(text))
        return results


__all__ = ["BioReasonProcessor", "check_conversations", "fit_dna_tokens", "normalize_dna_sequence", "split_reasoning",
           "CHAT_TEMPLATE"]
