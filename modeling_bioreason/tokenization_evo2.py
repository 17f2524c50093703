"""The Evo 2 tokenizer: one token per UTF-8 byte, as the upstream `CharLevelTokenizer(512)`.

Token id = byte value (`A` 65, `C` 67, `G` 71, `T` 84, `N` 78; lower case are their own bytes: `a` 97); id 0 is the
end-of-sequence token, id 1 padding; nothing is added around a sequence. Ids 256-511 exist in the model's 512-row
embedding but no byte maps to them.

This file ships to the Hub next to the weights: it imports only transformers and the standard library.
"""

from transformers import PreTrainedTokenizer

EOS_ID, PAD_ID = 0, 1


class Evo2Tokenizer(PreTrainedTokenizer):
    r"""
    Byte-level Evo 2 tokenizer. Tokens are the bytes of the UTF-8 text, written as the Latin-1 character of the same
    value (so `tokenize` and `convert_tokens_to_ids` stay one C-level call on multi-kilobase sequences). Batches
    pad on the right with id 1, which `Evo2Model` requires.

    Example:

    ```python
    >>> from modeling_bioreason import Evo2Tokenizer
    >>> tokenizer = Evo2Tokenizer()
    >>> tokenizer("ACGTNa")["input_ids"]
    [65, 67, 71, 84, 78, 97]
    >>> tokenizer(["ACGT", "AC"], padding=True)["input_ids"]
    [[65, 67, 71, 84], [65, 67, 1, 1]]
    >>> tokenizer.decode([65, 67, 0, 1], skip_special_tokens=True)
    'AC'
    ```
    """

    vocab_files_names: dict = {}
    model_input_names = ["input_ids", "attention_mask"]
    padding_side = "right"

    def __init__(self, eos_token: str = chr(EOS_ID), pad_token: str = chr(PAD_ID), **kwargs):
        # No model_max_length by default: nothing in Evo 2 is indexed by position (rotary attention, FFT filters).
        for unused in ("bos_token", "unk_token", "cls_token", "sep_token", "mask_token"):
            kwargs.pop(unused, None)
        super().__init__(eos_token=eos_token, pad_token=pad_token, padding_side=kwargs.pop("padding_side", "right"),
                         **kwargs)

    @property
    def vocab_size(self) -> int:
        return 512  # the embedding rows, as upstream's CharLevelTokenizer(512); bytes use ids 0-255

    def get_vocab(self) -> dict[str, int]:
        return {chr(i): i for i in range(256)}

    def tokenize(self, text: str, **kwargs) -> list[str]:
        # Every byte is a token: no added-token splitting, no normalisation (case and N are kept).
        return list(text.encode("utf-8").decode("latin-1"))

    def _tokenize(self, text: str, **kwargs) -> list[str]:
        return self.tokenize(text)

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | list[int]:
        if isinstance(tokens, str):
            return self._convert_token_to_id(tokens)
        try:
            return list("".join(tokens).encode("latin-1")) if all(len(t) == 1 for t in tokens) else [
                self._convert_token_to_id(t) for t in tokens]
        except UnicodeEncodeError:
            return [self._convert_token_to_id(t) for t in tokens]

    def _convert_token_to_id(self, token: str) -> int:
        if len(token) == 1 and ord(token) < 256:
            return ord(token)
        if token in self._added_tokens_encoder:
            return self._added_tokens_encoder[token]
        raise ValueError(f"{token!r} is not a byte token of the Evo 2 tokenizer (one token per UTF-8 byte).")

    def _convert_id_to_token(self, index: int) -> str:
        return chr(index) if 0 <= index < 256 else ""

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return "".join(tokens).encode("latin-1", errors="ignore").decode("utf-8", errors="replace")

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None):
        return token_ids_0 if token_ids_1 is None else token_ids_0 + token_ids_1

    def get_special_tokens_mask(self, token_ids_0, token_ids_1=None, already_has_special_tokens=False):
        if already_has_special_tokens:
            return [int(i in (EOS_ID, PAD_ID)) for i in token_ids_0]
        return [0] * (len(token_ids_0) + len(token_ids_1 or []))

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return 0

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return ()  # the vocabulary is the 256 byte values: nothing to write


__all__ = ["Evo2Tokenizer"]
