"""Hub cards and `bioreason push --dry-run`: exactly the files that would go, validated before anything is sent."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from modeling_bioreason.hub import evaluation_section, front_matter, push, render_model_card, write_model_card

ROOT = Path(__file__).parent.parent


def test_model_card_renders_config_and_evaluation(tiny, tmp_path):
    model, processor = tiny
    report = {"task": "kegg", "dataset": "hub_cards/datasets/kegg", "config": "leak_free", "split": "test", "rows": 8,
              "settings": {"max_new_tokens": 32},
              "metrics": {"strict": {"accuracy": 0.25, "macro_f1": 0.2}, "paper_lenient": {"accuracy": 0.5, "macro_f1": 0.4}},
              "lookup_baseline": {"strict": {"accuracy": 0.75, "macro_f1": 0.8},
                                  "paper_lenient": {"accuracy": 0.75, "macro_f1": 0.8}}}
    card = render_model_card(model, base_models=["Qwen/Qwen3-4B"], datasets=["wanglab/kegg"],
                             evaluation=evaluation_section(report), repo_id="me/bioreason")
    (tmp_path / "README.md").write_text(card)
    header = front_matter(tmp_path / "README.md")
    assert header["library_name"] == "transformers" and header["pipeline_tag"] == "text-generation"
    assert {"custom_code", "biology", "genomics"} <= set(header["tags"]) and header["base_model"] == ["Qwen/Qwen3-4B"]
    assert 'pipeline(model="me/bioreason", trust_remote_code=True)' in card
    assert "| this model | strict | 0.250 | 0.200 |" in card and "| lookup baseline | paper-lenient | 0.750" in card
    assert "trust_remote_code=True" in card and "Not a clinical tool" in card and "leak" in card
    assert "qwen3 (2 layers, hidden 64" in card


def test_push_dry_run_lists_and_validates_a_model_folder(tiny, tmp_path):
    from modeling_bioreason.hub import save_bioreason

    folder = save_bioreason(*tiny, tmp_path / "model", summary="test model")
    write_model_card(folder, tiny[0].config, evaluation="Not evaluated.")
    result = push("model", folder, "me/tiny", dry_run=True)
    paths = {item["path"] for item in result["files"]}
    assert {"README.md", "config.json", "model.safetensors", "modeling_bioreason.py", "dna_tokenizer/vocab.txt"} <= paths
    assert any("AutoModelForCausalLM" in check for check in result["checks"])
    (Path(folder) / "README.md").write_text("no header")
    with pytest.raises(ValueError, match="needs a YAML header"):
        push("model", folder, "me/tiny", dry_run=True)


@pytest.mark.parametrize("kind, folder, expected", [
    ("dataset", "hub_cards/datasets/kegg", {"README.md", "data/train-00000-of-00001.parquet",
                                            "leak_free/test-00000-of-00001.parquet"}),
    ("dataset", "hub_cards/datasets/variant_effect_clinvar", {"README.md", "data/val-00000-of-00001.parquet"}),
    ("metric", "hub_cards/metrics/kegg_disease", {"README.md", "app.py", "kegg_disease.py", "requirements.txt"}),
    ("metric", "hub_cards/metrics/variant_effect", {"README.md", "app.py", "variant_effect.py"}),
    ("space", "spaces_app", {"README.md", "app.py", "requirements.txt"}),
])
def test_push_dry_run_of_shipped_folders(kind, folder, expected):
    requirements = ROOT / folder / "requirements.txt"
    if requirements.exists() and re.search(r"^modeling-bioreason", requirements.read_text(), re.MULTILINE):
        # Not sealed yet (a metric module still requiring this package): push must refuse it, naming why.
        with pytest.raises(ValueError, match="not on any public package index"):
            push(kind, ROOT / folder, "me/x", dry_run=True)
        return
    result = push(kind, ROOT / folder, "me/x", dry_run=True, revision="v1", private=True,
                  model="me/bioreason" if kind == "space" else None)
    paths = {item["path"] for item in result["files"]}
    assert expected <= paths and not any("__pycache__" in p or p.endswith(".pyc") for p in paths)
    assert result["repo_type"] == {"dataset": "dataset", "metric": "space", "space": "space"}[kind]


def test_space_card_has_the_required_yaml():
    header = front_matter(ROOT / "spaces_app" / "README.md")
    for key in ("sdk", "sdk_version", "app_file", "models", "datasets", "suggested_hardware", "short_description",
                "license"):
        assert key in header, key
    assert header["sdk"] == "gradio"


def test_push_cli_dry_run_prints_the_files():
    result = subprocess.run([sys.executable, "-m", "modeling_bioreason.cli", "push", "space", "spaces_app",
                             "--repo-id", "me/bioreason", "--dry-run", "--model", "me/bioreason-model"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "would upload" in result.stdout and "app.py" in result.stdout


# ------------------------------------------------------------------------ card metadata, read by huggingface_hub itself
def _hub_card(text: str):
    from huggingface_hub import ModelCard

    card = ModelCard(text)  # the Hub's own parser; raises on a malformed header
    return card.data, card.text


def test_card_metadata_base_models_datasets_and_nt_v2_licence(tmp_path):
    from modeling_bioreason.example import tiny_bioreason, tiny_tokenizer

    model, _ = tiny_bioreason(tiny_tokenizer())
    # As build_bioreason records a model built from these two Hub checkpoints.
    model.config.base_model_ids = ["Qwen/Qwen3-4B", "InstaDeepAI/nucleotide-transformer-v2-500m-multi-species"]
    model.config.dna_encoder_pretrained = True
    card = render_model_card(model, datasets=[str(ROOT / "hub_cards" / "datasets" / "kegg"),
                                              "hub_cards/datasets/variant_effect_clinvar", "wanglab/kegg"])
    data, text = _hub_card(card)
    assert data.base_model == ["Qwen/Qwen3-4B", "InstaDeepAI/nucleotide-transformer-v2-500m-multi-species"]
    assert data.datasets == ["wanglab/kegg"]  # local folders: mapped to their Hub id, or named in the text only
    assert "variant_effect_clinvar" in text and "hub_cards/" not in str(data.to_dict())
    assert data.license == "cc-by-nc-sa-4.0" and data.license_name is None  # the Hub's own licence id
    assert "InstaDeep's Nucleotide Transformer v2" in text and "CC BY-NC-SA 4.0" in text
    assert "Qwen/Qwen3-4B) is Apache-2.0" in text
    assert data.library_name == "transformers" and data.pipeline_tag == "text-generation"


def test_build_records_base_models_and_the_card_reads_them(qwen3_tok, tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    from modeling_bioreason import NucleotideTransformerConfig, NucleotideTransformerModel, build_bioreason

    lm = LlamaForCausalLM(LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                      vocab_size=len(qwen3_tok)))
    lm.config._name_or_path = "HuggingFaceTB/SmolLM2-135M-Instruct"  # as from_pretrained(hub id) sets it
    encoder = NucleotideTransformerModel(NucleotideTransformerConfig(hidden_size=32, num_hidden_layers=1,
                                                                     num_attention_heads=2, intermediate_size=64))
    encoder.config._name_or_path = str(tmp_path)  # a local folder: not a Hub id
    model, processor = build_bioreason(lm, encoder, tokenizer=qwen3_tok)
    assert model.config.base_model_ids == ["HuggingFaceTB/SmolLM2-135M-Instruct"]
    from modeling_bioreason.hub import save_bioreason

    folder = save_bioreason(model, processor, tmp_path / "model", datasets=["hub_cards/datasets/kegg"])
    data, text = _hub_card((tmp_path / "model" / "README.md").read_text())
    assert data.base_model == ["HuggingFaceTB/SmolLM2-135M-Instruct"] and data.datasets == ["wanglab/kegg"]
    assert data.license == "cc-by-nc-sa-4.0" and "SmolLM2-135M-Instruct) is Apache-2.0" in text  # a loaded encoder


def test_baseline_cards_and_the_extra_metadata_hook(tmp_path):
    from huggingface_hub import EvalResult

    results = [EvalResult(task_type="text-generation", dataset_type="wanglab/kegg", dataset_name="KEGG",
                          metric_type="accuracy", metric_value=0.5)]
    card = render_model_card(None, text_model="Qwen/Qwen3-4B", datasets=["wanglab/kegg"],
                             extra_metadata={"eval_results": results, "model_name": "llm-only"})
    data, _ = _hub_card(card)
    assert data.license == "apache-2.0" and data.base_model == ["Qwen/Qwen3-4B"]  # no DNA encoder inside
    assert data.eval_results[0].metric_value == 0.5
    dna_only = _hub_card(render_model_card(None, dna_encoder="InstaDeepAI/nucleotide-transformer-v2-100m-multi-species"))
    assert dna_only[0].license == "cc-by-nc-sa-4.0" and "CC BY-NC-SA 4.0" in dna_only[1]


def test_model_push_to_hub_uploads_our_card(monkeypatch, tmp_path):
    """model.push_to_hub (network faked at the HfApi boundary) uploads this package's card, not the generic one."""
    import modeling_bioreason.modeling_bioreason as modeling
    from entry_points import saved_folder
    from modeling_bioreason import BioReasonForConditionalGeneration

    uploaded = {}

    class FakeApi:
        def create_repo(self, repo_id, **kwargs):
            return type("Repo", (), {"repo_id": repo_id})()

    def fake_upload(self, folder, repo_id, files_timestamps, **kwargs):
        uploaded.update({p.name: p.read_text() if p.suffix in (".md", ".json") else None
                         for p in __import__("pathlib").Path(folder).iterdir() if p.is_file()})
        return "commit"

    monkeypatch.setattr(modeling, "hf_api", lambda: FakeApi())
    monkeypatch.setattr(BioReasonForConditionalGeneration, "_upload_modified_files", fake_upload)
    model = BioReasonForConditionalGeneration.from_pretrained(saved_folder(tmp_path))
    assert model.push_to_hub("me/small", tags=["my-tag"]) == "commit"
    data, text = _hub_card(uploaded["README.md"])
    assert "custom_code" in data.tags and "my-tag" in data.tags and data.datasets == ["wanglab/kegg"]
    assert "A small test model." in text and "generic" not in text and "config.json" in uploaded
