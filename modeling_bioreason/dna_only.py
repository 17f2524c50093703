"""The DNA-only baseline model: a frozen DNA encoder (NT-v2 or Evo 2) on reference and variant, read at its tap,
attention pooling, an MLP classifier.

It lives with the models (not in `training/`) so that evaluation loads it without importing training code. Trained by
`bioreason train sft` with a `model.architecture: dna_only` recipe (training/baselines.py). The encoder is the same
slot as BioReason's: any encoder config AutoConfig knows (`dna_config`), read at `dna_feature_layer` (default: the
encoder's own, e.g. `blocks.20.mlp.l3` on Evo 2-1B, the paper's DNA-only Evo 2 row; the final LayerNorm on NT-v2).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig, PreTrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from .configuration_bioreason import DNAEncoderConfigSpec, check_feature_layer, default_feature_layer
from .configuration_nucleotide_transformer import NucleotideTransformerConfig
from .modeling_bioreason import dna_encoder_from_config, encode_at_tap
from .processing_bioreason import fit_dna_tokens, normalize_dna_sequence, special_dna_tokens


class DNAOnlyConfig(PreTrainedConfig):
    """Config of `DNAOnlyClassifier`; the class names live in `id2label` / `label2id`."""

    model_type = "bioreason_dna_only"
    sub_configs_defaults = {
        "dna_config": DNAEncoderConfigSpec(config_class=AutoConfig, model_type=NucleotideTransformerConfig.model_type)}

    dna_config: dict | PreTrainedConfig | None = None
    dna_feature_layer: int | str | None = None
    dna_truncation: str | None = None  # a window over the DNA budget: None (an error), or center | left | right
    classifier_hidden: int = 256
    classifier_dropout: float = 0.1

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.dna_feature_layer is None:  # folders saved before the tap existed read the encoder's default
            self.dna_feature_layer = default_feature_layer(self.dna_config)
        check_feature_layer(self.dna_config, self.dna_feature_layer)


class DNAOnlyClassifier(PreTrainedModel):
    """
    Frozen DNA encoder on the reference and the variant window, read at `config.dna_feature_layer`, attention pooling,
    an MLP on `[reference; variant]`.

    Inputs use the processor's batch-aligned DNA layout with exactly two slots: `(batch, 2, dna_len)`.
    """

    config_class = DNAOnlyConfig
    config: DNAOnlyConfig
    base_model_prefix = "dna_encoder"
    main_input_name = "dna_input_ids"

    def __init__(self, config: DNAOnlyConfig):
        super().__init__(config)
        hidden = config.dna_config.hidden_size
        self.dna_encoder = dna_encoder_from_config(config.dna_config)
        self.dna_encoder.requires_grad_(False)
        self.attention_pool = nn.Linear(hidden, 1)
        self.classifier = nn.Sequential(
            nn.Linear(2 * hidden, config.classifier_hidden), nn.GELU(), nn.Dropout(config.classifier_dropout),
            nn.Linear(config.classifier_hidden, config.num_labels),
        )
        self.post_init()

    def pool(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            hidden = encode_at_tap(self.dna_encoder, self.config.dna_config, self.config.dna_feature_layer, input_ids,
                                   attention_mask)
        scores = self.attention_pool(hidden).squeeze(-1)  # under autocast: bf16/fp16, not the encoder's dtype
        scores = scores.masked_fill(attention_mask == 0, torch.finfo(scores.dtype).min)
        return (scores.softmax(-1).unsqueeze(-1) * hidden.to(scores.dtype)).sum(1)

    def forward(self, dna_input_ids, dna_attention_mask, labels=None, **kwargs) -> SequenceClassifierOutput:
        if dna_input_ids.dim() != 3 or dna_input_ids.shape[1] != 2:
            raise ValueError(f"dna_input_ids must be (batch, 2, dna_len): reference and variant; got "
                             f"{tuple(dna_input_ids.shape)}.")
        pooled = [self.pool(dna_input_ids[:, slot], dna_attention_mask[:, slot]) for slot in (0, 1)]
        logits = self.classifier(torch.cat(pooled, -1))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


def load_dna_only(folder: str):
    """(classifier, DNA tokenizer) of a saved DNA-only baseline folder."""
    from transformers import AutoTokenizer

    return DNAOnlyClassifier.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)


class DNAPairCollator:
    """Rows -> `(batch, 2, dna_len)` encoder ids and masks (right-padded) and class indices. A window over
    `max_dna_tokens` is an error naming the row, or cut as `dna_truncation` says (logged): never cut silently."""

    def __init__(self, tokenizer, label2id: dict[str, int], task, trim_per_side: int, max_dna_tokens: int,
                 dna_truncation: str | None = None):
        from .tasks import get_task

        self.tokenizer, self.label2id, self.task = tokenizer, label2id, get_task(task)  # a Task or its name
        self.trim_per_side, self.max_dna_tokens, self.dna_truncation = trim_per_side, max_dna_tokens, dna_truncation

    def __call__(self, rows: list[dict]) -> dict:
        from .data.windows import trim_flanks

        keys = ("reference_sequence", "variant_sequence")
        sequences = [normalize_dna_sequence(trim_flanks(row[key], self.trim_per_side), iupac="to_n")
                     for row in rows for key in keys]
        special = special_dna_tokens(self.tokenizer)
        ids = [fit_dna_tokens(x, self.max_dna_tokens, self.dna_truncation, special,
                              f"Row {i // 2}, {keys[i % 2].split('_')[0]} window ({len(sequences[i])} bp after "
                              f"trim_per_side={self.trim_per_side})")
               for i, x in enumerate(self.tokenizer(sequences)["input_ids"])]
        length = max(len(x) for x in ids)
        input_ids = torch.full((len(ids), length), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(ids), length), dtype=torch.long)
        for i, x in enumerate(ids):
            input_ids[i, : len(x)], mask[i, : len(x)] = torch.tensor(x), 1
        batch = {"dna_input_ids": input_ids.view(len(rows), 2, length), "dna_attention_mask": mask.view(len(rows), 2, length)}
        if all("answer" in row for row in rows):
            batch["labels"] = torch.tensor([self.label2id[self.task.gold_label(row["answer"])] for row in rows])
        return batch
