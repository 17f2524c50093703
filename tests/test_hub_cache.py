"""Loading by repo id from a downloaded Hub cache (HF_HUB_OFFLINE=1), as a user does: with this package importable,
and as pure remote code with the package blocked. The DNA tokenizer must come from `dna_tokenizer/`, never the root."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from entry_points import chat_inputs, copy_without, make_hub_cache, saved_folder, short_chat, small_bioreason

REPO_ID = "bioreason-test/small-bioreason-qwen3"  # "qwen3" in the name must not confuse config resolution
ROOT = Path(__file__).parent.parent

USER_SCRIPT = r'''
import json, sys
mode, repo, messages, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
if mode == "blocked":  # the project package is not importable: only the repo's remote code can serve
    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "modeling_bioreason":
                raise ModuleNotFoundError(f"{name} is blocked in this test")
    sys.meta_path.insert(0, Blocker())
else:
    import modeling_bioreason  # noqa: F401
import torch
from safetensors.torch import save_file
from transformers import AutoModel, AutoModelForCausalLM, AutoProcessor, pipeline

processor = AutoProcessor.from_pretrained(repo, trust_remote_code=True)
model = AutoModelForCausalLM.from_pretrained(repo, trust_remote_code=True).eval()
auto_model = AutoModel.from_pretrained(repo, trust_remote_code=True)
inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                       return_tensors="pt")
generated = model.generate(**inputs, max_new_tokens=6, do_sample=False)
pipe = pipeline(model=repo, trust_remote_code=True)
piped = pipe(messages, max_new_tokens=6, do_sample=False, return_full_text=False)[0]
save_file({"generated": generated, **{k: v for k, v in inputs.items()}}, out)
print(json.dumps({
    "dna_tokenizer": type(processor.dna_tokenizer).__name__, "dna_vocab": len(processor.dna_tokenizer),
    "model_module": type(model).__module__, "auto_model": type(auto_model).__name__,
    "pipeline": type(pipe).__name__, "piped": piped["generated_text"],
    "decoded": processor.tokenizer.decode(generated[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True),
    "package_loaded": any(name.split(".")[0] == "modeling_bioreason" for name in sys.modules),
}))
'''


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory, encoder_kind):
    root = tmp_path_factory.mktemp("hub")
    make_hub_cache(saved_folder(root, encoder_kind), root / "cache", REPO_ID)
    return root


def _run_as_user(mode: str, cache_root: Path, tmp_path: Path, messages) -> tuple[dict, dict, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_CACHE": str(cache_root / "cache"),
           "TOKENIZERS_PARALLELISM": "false"}
    if mode == "importable":
        env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / "out.safetensors"
    result = subprocess.run([sys.executable, "-c", USER_SCRIPT, mode, REPO_ID, json.dumps(messages), str(out)],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), load_file(out), result.stderr


@pytest.mark.parametrize("mode", ["importable", "blocked"])
def test_load_by_repo_id_from_hub_cache_and_generate(hub_cache, encoder_kind, tmp_path, mode):
    model, processor = small_bioreason(encoder_kind)
    messages = short_chat(["ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGGTTACA"])
    inputs = chat_inputs(processor, messages)
    expected = model.generate(**inputs, max_new_tokens=6, do_sample=False)

    info, remote, stderr = _run_as_user(mode, hub_cache, tmp_path, messages)
    assert "Falling back" not in stderr  # the DNA tokenizer came from dna_tokenizer/, not the root
    assert info["dna_tokenizer"] == type(processor.dna_tokenizer).__name__
    assert info["dna_vocab"] == len(processor.dna_tokenizer)
    assert info["auto_model"] == "BioReasonForConditionalGeneration" and info["pipeline"] == "BioReasonPipeline"
    for key in inputs:
        assert torch.equal(remote[key], inputs[key]), key
    assert torch.equal(remote["generated"], expected)
    assert info["piped"] == info["decoded"].strip()
    if mode == "blocked":
        assert info["model_module"].startswith("transformers_modules.") and not info["package_loaded"]


def test_processor_refuses_a_root_tokenizer_as_dna_tokenizer(tmp_path):
    """A folder saved before dna_tokenizer/config.json existed: transformers falls back to the root tokenizer, and the
    processor must refuse it with a message naming what it got (it used to generate with the Qwen vocabulary)."""
    from transformers import AutoProcessor

    old = copy_without(saved_folder(tmp_path), tmp_path / "old", "config.json")
    (old / "config.json").write_text((saved_folder(tmp_path) / "config.json").read_text())  # keep the model config
    make_hub_cache(old, tmp_path / "cache", "someone/old-bioreason")
    with pytest.raises(ValueError, match=r"NT-v2 6-mer tokenizer.*got TokenizersBackend with \d+ vocabulary"):
        AutoProcessor.from_pretrained("someone/old-bioreason", cache_dir=tmp_path / "cache", local_files_only=True,
                                      trust_remote_code=True)


def test_saved_dna_tokenizer_folder_is_self_describing(tmp_path, encoder_kind):
    folder = saved_folder(tmp_path, encoder_kind)
    tokenizer = small_bioreason(encoder_kind)[1].dna_tokenizer
    code = type(tokenizer).__module__.split(".")[-1] + ".py"
    files = {p.name for p in (folder / "dna_tokenizer").iterdir()}
    assert {"config.json", "tokenizer_config.json", code, *tokenizer.vocab_files_names.values()} <= files
    config = json.loads((folder / "dna_tokenizer" / "config.json").read_text())
    assert config == {"tokenizer_class": type(tokenizer).__name__}
