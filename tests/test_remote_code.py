"""Saved folders are self-contained remote code: fresh-process AutoClass loading, and sealed Hub-file imports."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from conftest import ENCODER_KINDS, kegg_user_messages
from modeling_bioreason.hub import save_bioreason

EVO2_HUB_FILES = ["configuration_evo2.py", "modeling_evo2.py", "tokenization_evo2.py"]  # an Evo 2 folder's code
# A saved BioReason folder carries the code of every encoder it can hold (its config resolves any of them).
HUB_FILES = [
    "configuration_bioreason.py", "configuration_nucleotide_transformer.py", "modeling_bioreason.py",
    "modeling_nucleotide_transformer.py", "pipeline_bioreason.py", "processing_bioreason.py",
    "tokenization_nucleotide_transformer.py", *EVO2_HUB_FILES,
]

FRESH_PROCESS = r'''
import json, sys
import torch
from safetensors.torch import save_file
from transformers import AutoModel, AutoModelForCausalLM, AutoProcessor

folder, messages, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
assert "modeling_bioreason" not in sys.modules
model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True).eval()
processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                       return_tensors="pt")
with torch.no_grad():
    logits = model(**inputs).logits
generated = model.generate(**inputs, max_new_tokens=8, do_sample=False)
save_file({"logits": logits.contiguous(), "generated": generated, **{k: v for k, v in inputs.items()}}, out)
auto_model = AutoModel.from_pretrained(folder, trust_remote_code=True)
print(json.dumps({"model": type(model).__module__, "auto_model": type(auto_model).__name__,
                  "processor": type(processor).__module__, "dna_tokenizer": type(processor.dna_tokenizer).__name__}))
'''


def test_fresh_process_autoclass_round_trip(tiny_of_kind, encoder_kind, kegg_rows, tmp_path):
    model, processor = tiny_of_kind
    folder = save_bioreason(model, processor, tmp_path / "tiny-bioreason", summary="test")
    messages = kegg_user_messages(kegg_rows[1], trim=ENCODER_KINDS[encoder_kind]["kegg_trim"])
    inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                           return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits
    generated = model.generate(**inputs, max_new_tokens=8, do_sample=False)

    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(folder), json.dumps(messages), str(tmp_path / "out.safetensors")],
        capture_output=True, text=True, cwd=tmp_path, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["model"].startswith("transformers_modules.")  # the folder's own code, not this package
    assert info["processor"].startswith("transformers_modules.")
    assert info["auto_model"] == "BioReasonForConditionalGeneration"
    assert info["dna_tokenizer"] == type(processor.dna_tokenizer).__name__
    remote = load_file(tmp_path / "out.safetensors")
    for key in inputs:
        assert torch.equal(remote[key], inputs[key]), key
    assert torch.equal(remote["logits"], logits)
    assert torch.equal(remote["generated"], generated)

    saved = sorted(p.name for p in Path(folder).iterdir())
    assert {"README.md", "config.json", "model.safetensors", "dna_tokenizer", "chat_template.jinja"} <= set(saved)
    assert set(HUB_FILES) <= set(saved)
    config = json.loads((Path(folder) / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == config["auto_map"]["AutoModelForCausalLM"]
    assert "library_name: transformers" in (Path(folder) / "README.md").read_text()


def test_hub_files_import_only_torch_transformers_stdlib_and_siblings():
    package = Path(__file__).parent.parent / "modeling_bioreason"
    allowed = {"torch", "transformers"} | set(sys.stdlib_module_names)
    sealed = HUB_FILES
    for name in sealed:
        tree = ast.parse((package / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative import: must be a sibling Hub file
                    assert f"{node.module}.py" in sealed, (name, node.module)
                    continue
                roots = [node.module.split(".")[0]]
            else:
                continue
            assert set(roots) <= allowed, (name, roots)


def test_plain_save_pretrained_writes_no_card_and_the_export_writes_ours(tiny, tmp_path):
    """The model file has no card side effect; the library's export writes the card."""
    model, processor = tiny
    model.save_pretrained(tmp_path / "plain")
    assert not (tmp_path / "plain" / "README.md").exists()
    folder = save_bioreason(model, processor, tmp_path / "export")
    assert "library_name: transformers" in (Path(folder) / "README.md").read_text()
    modeling = (Path(__file__).parent.parent / "modeling_bioreason" / "modeling_bioreason.py").read_text()
    assert "Not a clinical tool" not in modeling and "MODEL_CARD" not in modeling
