"""The Nucleotide Transformer v2 6-mer tokenizer.

Reproduces the published NT-v2 tokenizer (`vocab.txt` of InstaDeepAI/nucleotide-transformer-v2-*, loaded upstream
with `EsmTokenizer`): the same vocabulary in the same order (real weights depend on the ids), greedy non-overlapping
6-mers from the left, leftover bases and `N` as single tokens, `<cls>` prepended, no `<eos>`, right padding.

This file ships to the Hub next to the BioReason weights: it imports only transformers and the standard library.
"""

import itertools
import os
import re

from transformers import PreTrainedTokenizer

VOCAB_FILES_NAMES = {"vocab_file": "vocab.txt"}

SPECIAL_TOKENS = ("<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>")
NUCLEOTIDES = ("A", "T", "C", "G")  # InstaDeep's order: the 6-mer ids enumerate this alphabet, not ACGT


def nt_v2_vocabulary() -> list[str]:
    """The published NT-v2 vocabulary, in id order: 6 specials, the 4,096 6-mers (A<T<C<G), then A, T, C, G, N."""
    kmers = ["".join(kmer) for kmer in itertools.product(NUCLEOTIDES, repeat=6)]
    return list(SPECIAL_TOKENS) + kmers + list(NUCLEOTIDES) + ["N"]


class NucleotideTransformerTokenizer(PreTrainedTokenizer):
    r"""
    NT-v2 tokenizer: non-overlapping 6-mers from the left; leftover bases (1-5 before an `N` or the end) and `N` are
    single-nucleotide tokens. With `add_special_tokens=True` (the default, as published and as BioReason's main
    branch uses it) `<cls>` is prepended and nothing is appended; set `add_cls_token=False` to reproduce BioReason's
    `vllm-grpo` branch.

    `vocab_file` may be omitted: the published vocabulary is generated (it is a fixed enumeration). Lower-case bases
    are upper-cased when `do_upper_case=True` (default). Any other character becomes `<unk>`; callers that need
    validation use `BioReasonProcessor`, which rejects such input with a clear error instead.

    Example:

    ```python
    >>> from modeling_bioreason import NucleotideTransformerTokenizer
    >>> tokenizer = NucleotideTransformerTokenizer()
    >>> tokenizer.tokenize("GGNACGTACGTA")
    ['G', 'G', 'N', 'ACGTAC', 'G', 'T', 'A']
    >>> tokenizer("ATTCCGATTCCG")["input_ids"]
    [3, 369, 369]
    ```
    """

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "attention_mask"]
    padding_side = "right"

    # At each position: six unambiguous bases form one token, anything else is a single-character token.
    _TOKEN_PATTERN = re.compile(r"[ACGT]{6}|.", re.DOTALL)

    def __init__(
        self,
        vocab_file: str | None = None,
        add_cls_token: bool = True,
        do_upper_case: bool = True,
        unk_token: str = "<unk>",
        pad_token: str = "<pad>",
        mask_token: str = "<mask>",
        cls_token: str = "<cls>",
        model_max_length: int = 2048,
        **kwargs,
    ):
        if vocab_file is not None:
            with open(vocab_file, encoding="utf-8") as handle:
                self.all_tokens = [line.strip() for line in handle.read().splitlines()]
        else:
            self.all_tokens = nt_v2_vocabulary()
        self._token_to_id = {token: index for index, token in enumerate(self.all_tokens)}
        self._id_to_token = dict(enumerate(self.all_tokens))
        self.add_cls_token = add_cls_token
        self.do_upper_case = do_upper_case
        # The published tokenizer has eos_token = None: NT-v2 never appends <eos>.
        kwargs.pop("eos_token", None)
        super().__init__(
            unk_token=unk_token,
            pad_token=pad_token,
            mask_token=mask_token,
            cls_token=cls_token,
            eos_token=None,
            model_max_length=model_max_length,
            add_cls_token=add_cls_token,
            do_upper_case=do_upper_case,
            **kwargs,
        )

    @property
    def vocab_size(self) -> int:
        return len(self.all_tokens)

    def get_vocab(self) -> dict[str, int]:
        vocab = dict(self._token_to_id)
        vocab.update(self.added_tokens_encoder)
        return vocab

    def tokenize(self, text: str, **kwargs) -> list[str]:
        # Fast path: a plain DNA string cannot contain an added token, so skip the added-token trie scan,
        # which is a per-character Python loop over multi-kilobase sequences.
        if "<" not in text and not kwargs:
            return self._tokenize(text)
        return super().tokenize(text, **kwargs)

    def _tokenize(self, text: str, **kwargs) -> list[str]:
        if self.do_upper_case:
            text = text.upper()
        return self._TOKEN_PATTERN.findall(text)

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | list[int]:
        if isinstance(tokens, str):
            return super().convert_tokens_to_ids(tokens)
        # One dict lookup per token instead of three Python calls: a 4 kb window is ~670 tokens. The merged table
        # is rebuilt only when tokens are added (merging 4k entries per sequence cost more than the lookups).
        added = self._added_tokens_encoder
        key = (len(added), next(reversed(added.items()), None))  # tokens are only ever appended
        if getattr(self, "_lookup_key", None) != key:
            self._lookup, self._lookup_key = {**self._token_to_id, **added}, key
        unk = self._token_to_id[self.unk_token]
        return [self._lookup.get(token, unk) for token in tokens]

    def _convert_token_to_id(self, token: str) -> int:
        return self._token_to_id.get(token, self._token_to_id[self.unk_token])

    def _convert_id_to_token(self, index: int) -> str:
        return self._id_to_token.get(index, self.unk_token)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return "".join(token for token in tokens if token not in SPECIAL_TOKENS)

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None):
        if token_ids_1 is not None:
            raise ValueError("NT-v2 has no separator token: encode one DNA sequence per input.")
        return ([self.cls_token_id] if self.add_cls_token else []) + token_ids_0

    def get_special_tokens_mask(self, token_ids_0, token_ids_1=None, already_has_special_tokens=False):
        if already_has_special_tokens:
            special = set(self.all_special_ids)
            return [int(token in special) for token in token_ids_0]
        return ([1] if self.add_cls_token else []) + [0] * len(token_ids_0)

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return int(self.add_cls_token)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str]:
        path = os.path.join(save_directory, (filename_prefix + "-" if filename_prefix else "") + "vocab.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(self.all_tokens))
        return (path,)


__all__ = ["NucleotideTransformerTokenizer", "nt_v2_vocabulary"]
