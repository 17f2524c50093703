"""Settings of an evaluation run (kept free of heavy imports: the CLI builds its flags from them)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

LOOKUP_MODEL = "lookup"  # --model lookup: score the lookup baseline alone, without a model
DNA_ABLATIONS = ("shuffle", "reference-only", "zero")  # see evaluation/ablation.py
# (field, ok, rule) for the numeric settings; a value outside its range is refused, naming it.
CHECKS = (
    ("batch_size", lambda v: v >= 1, "must be >= 1"),
    ("max_new_tokens", lambda v: v >= 1, "must be >= 1"),
    ("limit", lambda v: v >= 1, "must be >= 1 (omit it for every row)"),
    ("trim_per_side", lambda v: v >= 0, "must be >= 0"),
    ("temperature", lambda v: v > 0, "must be > 0"),
    ("top_p", lambda v: 0 < v <= 1, "must be in (0, 1]"),
    ("top_k", lambda v: v >= 0, "must be >= 0 (0: no top-k filter)"),
)


@dataclass
class EvaluationConfig:
    """Settings of one evaluation run; everything but `limit` and `batch_size` must match to resume a run."""

    model: str
    task: str | None = None  # kegg_disease / variant_effect; default: the dataset card's `bioreason_task`
    dataset: str = "hub_cards/datasets/kegg"
    # The dataset's Hub id, which results exported to a model card cite (default: the dataset itself when it is a Hub
    # id, else its card's `bioreason_hub_id`).
    dataset_repo_id: str | None = None
    config: str = "default"
    split: str = "test"
    output_dir: str = "runs/evaluate"
    batch_size: int = 8
    max_new_tokens: int = 800
    do_sample: bool = False  # greedy by default; BioReason sampled with the values below
    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 20
    seed: int = 0
    limit: int | None = None
    trim_per_side: int = 0  # 0: full windows (BioReason's eval default); 1024: BioReason's flank trim
    enable_thinking: bool = True
    baseline_split: str = "train"
    zero_shot_baseline: str | None = None  # an NT-v2 masked-LM or Evo 2 folder: its zero-shot row (variant effect)
    device: str = "auto"
    dtype: str = "auto"  # auto: bfloat16 on CUDA, float32 on CPU; or bfloat16 / float16 / float32
    # A BioReason folder loads through this package's own classes; any other folder's code (auto_map) runs only with
    # this set, as in transformers.
    trust_remote_code: bool = False
    # Re-run the same rows with the DNA altered, each mode as a run of its own under <output_dir>/dna_ablation/<mode>,
    # and report each beside the intact run (paired McNemar test). Repeatable on the command line.
    dna_ablation: list[str] = field(default_factory=list, metadata={
        "action": "extend", "choices": DNA_ABLATIONS, "metavar": "MODE",
        "help": "shuffle (each row gets another row's DNA), reference-only (variant window := reference window), "
                "zero (projected DNA features zeroed); repeatable"})
    # Set on the runs that --dna-ablation starts (never on the command line): the mode this run evaluates.
    ablation: str | None = field(default=None, init=False)

    def __post_init__(self):
        for name, ok, rule in CHECKS:
            value = getattr(self, name)
            if value is not None and not ok(value):
                raise ValueError(f"--{name.replace('_', '-')} {value}: {rule}.")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ValueError(f"--device {self.device}: expected auto, cpu, cuda or cuda:N.")
        if self.dtype not in ("auto", "bfloat16", "float16", "float32"):
            raise ValueError(f"--dtype {self.dtype}: expected auto, bfloat16, float16 or float32.")
        for name in ("model", "dataset", "split", "output_dir", "baseline_split"):
            if not str(getattr(self, name)).strip():
                raise ValueError(f"--{name.replace('_', '-')} is empty.")
        unknown = [mode for mode in self.dna_ablation if mode not in DNA_ABLATIONS]
        if unknown:
            raise ValueError(f"--dna-ablation {unknown[0]}: expected one of {', '.join(DNA_ABLATIONS)}.")
        self.dna_ablation = list(dict.fromkeys(self.dna_ablation))

    def identity(self) -> dict:
        resumable = {"limit", "batch_size", "output_dir", "device", "zero_shot_baseline", "trust_remote_code",
                     "dataset_repo_id", "dna_ablation"}  # report-side only (each ablation is a run of its own)
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in resumable}
