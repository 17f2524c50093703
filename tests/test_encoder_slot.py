"""The DNA encoder is one slot: taps (named output sites and hidden-state indices, the encoder run only as deep as the
tap needs), bad taps, tokenizer/encoder pairing, a second encoder kind plugged in by its own facts only, a folder saved
before the slot, and licences that follow the encoder's weights (read back with huggingface_hub)."""

import copy
import json
import shutil
from contextlib import contextmanager

import pytest
import torch
from torch import nn
from transformers import AutoProcessor, PreTrainedConfig, PreTrainedModel, PreTrainedTokenizer, Qwen3Config, \
    Qwen3ForCausalLM
from transformers.modeling_outputs import BaseModelOutput

from conftest import FIXTURES
from entry_points import chat_inputs, saved_folder, short_chat, small_bioreason
from modeling_bioreason import BioReasonConfig, BioReasonForConditionalGeneration, BioReasonProcessor, build_bioreason
from modeling_bioreason.dna_encoders import random_dna_encoder

BATCH = [short_chat(["ACGTACGTTTGACAGATTACAGG", "ACGTACGTTTGACAGGTTACA"]),
         short_chat(["GATTACAGATTACAGATTACAGATTACA"], "Another question?")]


@contextmanager
def block_calls(encoder, layers_module: str):
    """Counts the forward calls of each block of an encoder, and of everything after its blocks."""
    blocks = encoder.get_submodule(layers_module)
    calls = [0] * len(blocks)
    hooks = [block.register_forward_hook(lambda m, a, o, i=i: calls.__setitem__(i, calls[i] + 1))
             for i, block in enumerate(blocks)]
    try:
        yield calls
    finally:
        for hook in hooks:
            hook.remove()


def _output(output):
    return output if isinstance(output, torch.Tensor) else output[0]


def _with_tap(model, tap):
    config = copy.deepcopy(model.config)
    config.dna_feature_layer = tap
    tapped = BioReasonForConditionalGeneration(config).eval()
    tapped.load_state_dict(model.state_dict())
    return tapped


def _reference_features(model, ids, mask, tap):
    """What a tap means, read off the whole encoder: the site's output by a hook, or `hidden_states[tap]`."""
    encoder = model.model.dna_encoder
    flat_ids, flat_mask = ids.flatten(0, 1), mask.flatten(0, 1)
    if isinstance(tap, str):
        seen = []
        hook = encoder.get_submodule(tap).register_forward_hook(lambda m, a, o: seen.append(_output(o)))
        encoder(flat_ids, attention_mask=flat_mask)
        hook.remove()
        hidden = seen[0]
    else:
        hidden = encoder(flat_ids, attention_mask=flat_mask, output_hidden_states=True).hidden_states[tap]
    features = model.model.dna_projector(hidden) * flat_mask[..., None]
    return features.view(*ids.shape, -1)


# ------------------------------------------------------------------------------------------------------ the tap
@torch.no_grad()
@pytest.mark.parametrize("tap, blocks_run", [
    ("encoder.layer.0.output.dense", [1, 0]),  # the FFN branch of block 0, before its residual add
    ("encoder.layer.0", [1, 0]),
    ("encoder.layer.1.attention.output", [1, 1]),
    ("encoder.emb_layer_norm_after", [1, 1]),  # outside the blocks: the whole encoder
    (1, [1, 0]),  # hidden_states[1], block 0's output
    (-2, [1, 0]),
    (0, [1, 0]),  # the embeddings
    (-1, [1, 1]),
])
def test_a_tap_reads_its_site_and_runs_only_the_blocks_it_needs(tap, blocks_run):
    model, processor = small_bioreason("nt-v2")
    tapped = _with_tap(model, tap)
    inputs = chat_inputs(processor, BATCH)
    ids, mask = inputs["dna_input_ids"], inputs["dna_attention_mask"]
    with block_calls(tapped.model.dna_encoder, "encoder.layer") as calls:
        features = tapped.get_dna_features(ids, mask)
    assert calls == blocks_run  # one encoder call, over the blocks the tap needs
    torch.testing.assert_close(features, _reference_features(tapped, ids, mask, tap), atol=1e-6, rtol=1e-5)
    if isinstance(tap, str):  # the hook went away with the call
        assert not tapped.model.dna_encoder.get_submodule(tap)._forward_hooks
    logits = tapped(**inputs).logits  # and the model reads them through every path
    assert torch.isfinite(logits).all()


def test_the_default_tap_is_the_encoders_and_old_configs_keep_theirs():
    dna = random_dna_encoder("random-nt-v2:32x2").config
    text = Qwen3Config(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                       num_key_value_heads=1, head_dim=16, vocab_size=64)
    config = BioReasonConfig(text_config=text, dna_config=dna, dna_token_id=61, dna_start_token_id=60,
                             dna_end_token_id=62)
    assert config.dna_feature_layer == dna.default_feature_layer() == -1
    reloaded = BioReasonConfig.from_dict(config.to_dict())
    assert reloaded.dna_feature_layer == -1 and type(reloaded.dna_config) is type(dna)
    from modeling_bioreason import Evo2Config

    evo2_1b = Evo2Config()  # the 1B shapes: 25 blocks; BioReason's and bio-posttrain's tap
    config = BioReasonConfig(text_config=text, dna_config=evo2_1b, dna_token_id=61, dna_start_token_id=60,
                             dna_end_token_id=62)
    assert config.dna_feature_layer == "blocks.20.mlp.l3"
    reloaded = BioReasonConfig.from_dict(config.to_dict())
    assert reloaded.dna_feature_layer == "blocks.20.mlp.l3" and type(reloaded.dna_config) is Evo2Config


@pytest.fixture(scope="module")
def text_tokenizer():
    from modeling_bioreason.example import tiny_tokenizer

    return tiny_tokenizer()


@pytest.fixture()
def small_lm_and_tokenizer(text_tokenizer):
    """A fresh small random LM (build_bioreason takes it over) and the shared small tokenizer."""
    config = Qwen3Config(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=1, head_dim=16, vocab_size=len(text_tokenizer) + 3,
                         tie_word_embeddings=True)
    return Qwen3ForCausalLM(config), text_tokenizer


@pytest.mark.parametrize("spec, tap, message", [
    ("random-nt-v2:32x2", "encoder.layer.7.output", r"dna_feature_layer='encoder.layer.7.output' names block 7 of a "
                                                    r"nucleotide_transformer encoder with 2 blocks \(encoder.layer.0 .. "
                                                    r"encoder.layer.1\)"),
    ("random-nt-v2:32x2", "encoder.layr.0.output", r"dna_feature_layer='encoder.layr.0.output' names no module of the "
                                                   r"DNA encoder \(NucleotideTransformerModel\); its output sites "
                                                   r"include 'encoder.layer.1.attention'"),
    ("random-nt-v2:32x2", "encoder.layer.0.intermediate.dense", r"outputs 256 features, but the projector takes the "
                                                                r"encoder's hidden_size \(32\)"),
    ("random-nt-v2:32x2", "encoder layer 0", r"is not a module name"),
    ("random-nt-v2:32x2", 3, r"dna_feature_layer=3 is out of range for a DNA encoder with 2 layers"),
    ("random-nt-v2:32x2", True, r"must be an int \(a hidden_states index\) or a str"),
    # Evo 2: the 1B's tap on a 4-block model, a site it lacks, the MLP's inner width
    ("random-evo2:16x4", "blocks.20.mlp.l3", r"dna_feature_layer='blocks.20.mlp.l3' names block 20 of a evo2 encoder "
                                             r"with 4 blocks \(blocks.0 .. blocks.3\)"),
    ("random-evo2:16x4", "blocks.1.mlp.l4", r"dna_feature_layer='blocks.1.mlp.l4' names no module of the DNA encoder "
                                            r"\(Evo2Model\); its output sites include 'blocks.3.pre_norm'"),
    ("random-evo2:16x4", "blocks.1.mlp.l1", r"outputs 48 features, but the projector takes the encoder's hidden_size "
                                            r"\(16\)"),
])
def test_bad_taps_are_refused_at_build_naming_the_tap_and_valid_ones(small_lm_and_tokenizer, spec, tap, message):
    lm, tokenizer = small_lm_and_tokenizer
    with pytest.raises(ValueError, match=message):
        build_bioreason(lm, random_dna_encoder(spec), tokenizer=tokenizer, dna_feature_layer=tap)


def test_build_takes_the_encoder_by_hub_id_from_a_hub_cache_and_a_named_tap(encoder_kind, published_encoder,
                                                                          text_tokenizer, tmp_path, monkeypatch):
    """`build_bioreason(text folder, encoder Hub id, dna_feature_layer=name)` as a user runs it offline: the encoder
    is resolved through AutoConfig / AutoModel from the Hub cache, in its publisher's layout."""
    import huggingface_hub

    from conftest import ENCODER_KINDS
    from entry_points import make_hub_cache
    from modeling_bioreason.build import load_dna_encoder

    facts = ENCODER_KINDS[encoder_kind]
    repo_id = "publisher/dna-encoder-tiny"
    make_hub_cache(published_encoder, tmp_path / "cache", repo_id)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))  # as HF_HUB_CACHE= does
    lm = Qwen3ForCausalLM(Qwen3Config(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                      num_key_value_heads=1, head_dim=16, vocab_size=len(text_tokenizer)))
    lm.save_pretrained(tmp_path / "lm")
    text_tokenizer.save_pretrained(tmp_path / "lm")

    model, processor = build_bioreason(str(tmp_path / "lm"), repo_id, dna_feature_layer=facts["inner_tap"])
    encoder, published = model.model.dna_encoder, load_dna_encoder(published_encoder)
    assert type(encoder) is type(published) and model.config.dna_feature_layer == facts["inner_tap"]
    reference = published.state_dict()
    assert all(torch.equal(value, reference[key]) for key, value in encoder.state_dict().items())
    assert model.config.base_model_ids == [repo_id] and model.config.dna_encoder_pretrained
    assert processor.dna_encoder_type == model.config.dna_config.model_type
    assert not getattr(model.config.dna_config, "auto_map", None)  # the publisher's remote code is not carried over


# ----------------------------------------------------------------------------- a second encoder kind, as Evo 2 plugs in
class ToyDNAConfig(PreTrainedConfig):
    """A byte-level causal-style encoder (ids byte + 100, so that its tokenizer is not Evo 2's): what BioReason reads
    about it is declared here, as each encoder does."""

    model_type = "toy_dna"
    tokenizer_probe = ("ACGTN", (165, 167, 171, 184, 178))
    tokenizer_special_ids = ()
    tokenizer_description = "the toy byte tokenizer (one token per base, byte + 100, nothing added)"
    layers_module = "blocks"
    last_hidden_state_in_hidden_states = False

    vocab_size: int = 356
    hidden_size: int = 16
    num_hidden_layers: int = 3
    pad_token_id: int | None = 101

    def default_feature_layer(self):
        return "blocks.1.mlp" if self.num_hidden_layers > 2 else -1

    @staticmethod
    def encoder_model_class():
        return ToyDNAModel


class ToyBlock(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.mlp = nn.Linear(hidden, hidden)

    def forward(self, hidden_states):
        return hidden_states + torch.tanh(self.mlp(hidden_states))


class ToyDNAModel(PreTrainedModel):
    config_class = ToyDNAConfig
    base_model_prefix = "toy"
    _no_split_modules = ["ToyBlock"]

    def __init__(self, config):
        super().__init__(config)
        self.embedding_layer = nn.Embedding(config.vocab_size, config.hidden_size)
        self.blocks = nn.ModuleList(ToyBlock(config.hidden_size) for _ in range(config.num_hidden_layers))
        self.norm = nn.LayerNorm(config.hidden_size)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, output_hidden_states=None, stop_after_layer=None, **kwargs):
        hidden = self.embedding_layer(input_ids)
        states = (hidden,)
        last = len(self.blocks) - 1 if stop_after_layer is None else stop_after_layer
        for block in self.blocks[: last + 1]:
            hidden = block(hidden)
            states += (hidden,)
        if stop_after_layer is None:
            hidden = self.norm(hidden)
        return BaseModelOutput(last_hidden_state=hidden, hidden_states=states if output_hidden_states else None)


class ToyByteTokenizer(PreTrainedTokenizer):
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, **kwargs):
        super().__init__(pad_token="\x01", model_max_length=64, **kwargs)

    @property
    def vocab_size(self):
        return 256

    def get_vocab(self):
        return {chr(i): i + 100 for i in range(256)}

    def _tokenize(self, text, **kwargs):
        return list(text)

    def _convert_token_to_id(self, token):
        return ord(token) + 100

    def _convert_id_to_token(self, index):
        return chr(index - 100)

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
        return token_ids_0

    def num_special_tokens_to_add(self, pair=False):
        return 0


@pytest.fixture()
def toy_kind(monkeypatch):
    """The toy encoder registered the way a shipped encoder is: its config among the encoder configs (which is also
    how a sealed remote-code folder resolves one AutoConfig does not know) and one `DNAEncoderKind` entry."""
    from modeling_bioreason import configuration_bioreason, dna_encoders

    kind = dna_encoders.DNAEncoderKind(
        config_class=ToyDNAConfig, spec_name="toy", random_config=lambda hidden, layers: ToyDNAConfig(
            hidden_size=hidden, num_hidden_layers=layers), random_sizes=(lambda hidden, layers: True, "any size"),
        tokenizer=lambda source: ToyByteTokenizer(), name="Toy DNA", short_name="toy", weights_by="Toy Lab", license="apache-2.0", license_name="Apache-2.0",
        license_terms="permissive", hub_ids=("toy-lab/toy-dna",), tokens_per_sequence="one per base",
        dna_tokens=64)
    monkeypatch.setitem(configuration_bioreason.DNA_ENCODER_CONFIGS, "toy_dna", ToyDNAConfig)
    monkeypatch.setitem(dna_encoders.DNA_ENCODERS, "toy_dna", kind)
    return kind


@torch.no_grad()
def test_a_second_encoder_kind_plugs_in_with_its_own_facts_only(toy_kind, small_lm_and_tokenizer, caplog):
    from modeling_bioreason.hub import render_model_card

    lm, tokenizer = small_lm_and_tokenizer
    torch.manual_seed(0)
    encoder = random_dna_encoder("random-toy:16x3")  # through AutoModel: the slot registers the class the config names
    assert type(encoder) is ToyDNAModel
    model, processor = build_bioreason(lm, encoder, tokenizer=tokenizer)
    assert processor.dna_encoder_type == "toy_dna" and type(processor.dna_tokenizer) is ToyByteTokenizer
    assert model.config.dna_feature_layer == "blocks.1.mlp"  # the encoder's default tap
    assert {"ToyBlock", "BioReasonProjector", "Qwen3DecoderLayer"} <= set(model._no_split_modules)

    inputs = chat_inputs(processor, short_chat(["ACGTACGTAC", "acgtn"]))
    assert inputs["dna_attention_mask"].sum(-1).tolist() == [[10, 5]]  # one placeholder per base, nothing added
    assert inputs["dna_input_ids"][0, 1, :5].tolist() == [165, 167, 171, 184, 178]  # normalised (upper case) bases
    ids, mask = inputs["dna_input_ids"], inputs["dna_attention_mask"]
    with block_calls(model.model.dna_encoder, "blocks") as calls:
        features = model.get_dna_features(ids, mask)
    assert calls == [1, 1, 0]  # blocks 0..1 only: stop_after_layer=1
    torch.testing.assert_close(features, _reference_features(model, ids, mask, "blocks.1.mlp"))
    assert torch.isfinite(model(**inputs).logits).all()

    with pytest.raises(ValueError, match=r"Row 0, DNA sequence 0 \(70 bp\): 70 DNA tokens exceed max_dna_tokens=64"):
        processor.apply_chat_template(short_chat(["ACGTACGTAC" * 7]), add_generation_prompt=True, tokenize=True)
    long = "A" * 30 + "C" * 10 + "G" * 30
    text = processor.apply_chat_template(short_chat([long]), add_generation_prompt=True)
    cut = processor(text=text, dna=[long], dna_truncation="center", return_tensors="pt")
    assert cut["dna_input_ids"][0, 0].tolist() == [165] * 27 + [167] * 10 + [171] * 27  # the centre 64

    card = render_model_card(model)
    assert "Toy DNA (3 layers, hidden 16), random weights" in card and "encoder output `blocks.1.mlp`" in card
    assert "license: apache-2.0" in card and "Toy Lab" not in card and "one per base" in card


def test_a_tokenizer_that_does_not_match_the_encoder_is_refused_naming_both_sides(toy_kind, small_lm_and_tokenizer,
                                                                                 tmp_path):
    from modeling_bioreason import NucleotideTransformerTokenizer

    lm, tokenizer = small_lm_and_tokenizer
    with pytest.raises(ValueError, match=r"the model's encoder is 'nucleotide_transformer', which needs the NT-v2 "
                                         r"6-mer tokenizer .*; the DNA tokenizer is ToyByteTokenizer with 256 "
                                         r"vocabulary entries .*: the toy byte tokenizer .*, for a 'toy_dna' encoder"):
        build_bioreason(lm, random_dna_encoder("random-nt-v2:32x2"), tokenizer=tokenizer,
                        dna_tokenizer=ToyByteTokenizer())
    with pytest.raises(ValueError, match=r"the model's encoder is 'toy_dna', which needs the toy byte tokenizer .*; "
                                         r"the DNA tokenizer is NucleotideTransformerTokenizer .*: the NT-v2 6-mer"):
        build_bioreason(lm, random_dna_encoder("random-toy:16x3"), tokenizer=tokenizer,
                        dna_tokenizer=NucleotideTransformerTokenizer())

    # A saved folder whose model names another encoder than its processor's DNA tokenizer serves.
    folder = shutil.copytree(saved_folder(tmp_path), tmp_path / "mismatched")
    config = json.loads((folder / "config.json").read_text())
    config["dna_config"] = ToyDNAConfig().to_dict()
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"mismatched: The DNA tokenizer does not match the DNA encoder: the model's "
                                         r"encoder is 'toy_dna'.*the DNA tokenizer is NucleotideTransformerTokenizer"):
        AutoProcessor.from_pretrained(folder)
    config["dna_config"] = random_dna_encoder("random-evo2:16x4").config.to_dict()  # the real second encoder
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"mismatched: The DNA tokenizer does not match the DNA encoder: the model's "
                                         r"encoder is 'evo2', which needs the Evo 2 byte tokenizer \(Evo2Tokenizer: one "
                                         r"token per base, nothing added\); the DNA tokenizer is "
                                         r"NucleotideTransformerTokenizer .*: the NT-v2 6-mer tokenizer .*, for a "
                                         r"'nucleotide_transformer' encoder"):
        AutoProcessor.from_pretrained(folder)
    config["dna_config"]["model_type"] = "unknown_dna"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"Unknown DNA encoder model_type 'unknown_dna'.*The DNA tokenizer is "
                                         r"NucleotideTransformerTokenizer with 4107 vocabulary entries"):
        AutoProcessor.from_pretrained(folder)


# ------------------------------------------------------------------------------------- a folder saved before the slot
OLD_FORMAT = FIXTURES / "bioreason" / "saved_before_encoder_slot"


@torch.no_grad()
def test_a_folder_saved_before_the_encoder_slot_loads_unchanged(tmp_path):
    """The previous release's save of the small test model (its config files, kept in the fixtures; the weights are
    the same deterministic tensors): loaded by this package, it gives the same outputs and says the same things."""
    from modeling_bioreason.hub import card_for_push

    folder = shutil.copytree(saved_folder(tmp_path / "new"), tmp_path / "old")
    for path in OLD_FORMAT.rglob("*.json"):
        shutil.copy(path, folder / path.relative_to(OLD_FORMAT))
    old = json.loads((folder / "config.json").read_text())
    assert "dna_encoder_pretrained" not in old and old["dna_feature_layer"] == -1  # really the old format
    model = BioReasonForConditionalGeneration.from_pretrained(folder).eval()
    processor = AutoProcessor.from_pretrained(folder)
    reference, reference_processor = small_bioreason("nt-v2")
    inputs = chat_inputs(processor, BATCH)
    expected = chat_inputs(reference_processor, BATCH)
    assert all(torch.equal(inputs[key], expected[key]) for key in expected)
    assert torch.equal(model(**inputs).logits, reference(**expected).logits)
    assert model.config.dna_feature_layer == -1 and model.config.dna_encoder_pretrained  # nothing said: as before
    assert "license: cc-by-nc-sa-4.0" in card_for_push(model)


# ------------------------------------------------------------------------------------- licences follow the weights
# Licence ids the Hub accepts in `license:` (https://huggingface.co/docs/hub/repositories-licenses), those used here.
HUB_LICENSE_IDS = {"apache-2.0", "mit", "cc-by-nc-sa-4.0", "cc-by-sa-4.0", "cc-by-4.0", "other"}


@pytest.mark.parametrize("spec, encoder_source, license, credit", [
    # as from_pretrained(hub id) records it
    ("random-nt-v2:32x2", "InstaDeepAI/nucleotide-transformer-v2-500m-multi-species", "cc-by-nc-sa-4.0",
     "InstaDeep's Nucleotide Transformer v2, CC BY-NC-SA 4.0"),
    ("random-evo2:16x4", "arcinstitute/evo2_1b_base", "apache-2.0", "Arc Institute's Evo 2, Apache-2.0"),
    # built from a config: random weights, nobody's
    ("random-nt-v2:32x2", "", "apache-2.0", None),
    ("random-evo2:16x4", "", "apache-2.0", None),
])
def test_the_licence_follows_the_encoder_weights(small_lm_and_tokenizer, tmp_path, spec, encoder_source, license,
                                                 credit):
    from huggingface_hub import ModelCard, ModelCardData
    from huggingface_hub.utils import validate_repo_id

    from modeling_bioreason.hub import save_bioreason

    lm, tokenizer = small_lm_and_tokenizer
    lm.config._name_or_path = "Qwen/Qwen3-4B"
    encoder = random_dna_encoder(spec)
    encoder.config._name_or_path = encoder_source
    model, processor = build_bioreason(lm, encoder, tokenizer=tokenizer)
    save_bioreason(model, processor, tmp_path / "model")
    card = ModelCard.load(tmp_path / "model" / "README.md")  # the Hub's own parser
    data = ModelCardData(**card.data.to_dict())
    assert data.license == license and data.license in HUB_LICENSE_IDS and data.license_name is None
    for repo_id in data.base_model:
        validate_repo_id(repo_id)
    if encoder_source:
        assert data.base_model == ["Qwen/Qwen3-4B", encoder_source]
        assert credit in card.text
        other = "Arc Institute" if "InstaDeep" in credit else "InstaDeep"
        assert other not in card.content  # nobody else's weights named
    else:  # a random encoder: nobody's weights named, claimed or listed
        assert data.base_model == ["Qwen/Qwen3-4B"] and not model.config.dna_encoder_pretrained
        for publisher in ("InstaDeep", "CC BY-NC", "Arc Institute"):
            assert publisher not in card.content
        assert "randomly initialised: this folder holds no pretrained DNA-encoder weights" in card.text
        assert "random weights" in card.text


def test_recipe_and_baseline_cards_with_random_encoder_specs_claim_no_encoder_weights():
    """The quickstart's and the smoke recipes' `random-nt-v2:...` encoders, and the DNA-only baseline's card."""
    from huggingface_hub import ModelCard

    from modeling_bioreason.hub import render_model_card
    from modeling_bioreason.training.models import load_model
    from modeling_bioreason.training.recipe import ModelSource

    model, _ = load_model(ModelSource(text_model="tiny-random-qwen3", dna_model="random-nt-v2:32x2"))
    for card in (render_model_card(model), render_model_card(None, dna_encoder="random-nt-v2:32x2")):
        parsed = ModelCard(card)
        assert parsed.data.license == "apache-2.0" and not parsed.data.base_model
        assert "InstaDeep" not in card and "CC BY-NC" not in card and "randomly initialised" in card


def test_an_evo2_processor_takes_windows_up_to_2048_bases_and_refuses_or_cuts_longer_ones_as_asked(caplog, tmp_path):
    """The paper's Evo 2 budget, from the encoder kind: one placeholder per base up to 2,048; one base more is an error
    naming the numbers unless `dna_truncation` says how to cut (logged), never a silent cut."""
    model, processor = small_bioreason("evo2")
    assert processor.dna_tokenizer.model_max_length == processor.max_dna_bases == 2048
    window = ("ACGTTGCA" * 256)[:2048]
    inputs = chat_inputs(processor, short_chat([window, window[:100]]))
    assert inputs["dna_attention_mask"].sum(-1).tolist() == [[2048, 100]]
    assert int((inputs["input_ids"] == model.config.dna_token_id).sum()) == 2148  # one placeholder per base
    with pytest.raises(ValueError, match=r"Row 0, DNA sequence 0 \(2049 bp\): 2049 DNA tokens exceed "
                                         r"max_dna_tokens=2048"):
        chat_inputs(processor, short_chat([window + "A"]))
    text = processor.apply_chat_template(short_chat([window + "ACG"]), add_generation_prompt=True)
    with caplog.at_level("WARNING"):
        cut = processor(text=text, dna=[window + "ACG"], dna_truncation="center", return_tensors="pt")
    assert cut["dna_input_ids"][0, 0].tolist() == list((window + "ACG")[1:2049].encode())
    assert "truncated from 2051 to 2048 DNA tokens (the middle kept)" in caplog.text
    processor = copy.deepcopy(processor)  # the processor's own policy (a recipe's data.dna_truncation), saved with it
    processor.dna_truncation = "center"
    processor.save_pretrained(tmp_path / "processor")
    reloaded = BioReasonProcessor.from_pretrained(tmp_path / "processor")
    assert reloaded.dna_truncation == "center" and reloaded.max_dna_bases == 2048
    assert torch.equal(reloaded(text=text, dna=[window + "ACG"], return_tensors="pt")["dna_input_ids"],
                       cut["dna_input_ids"])


def test_random_encoder_specs_name_their_kind():
    encoder = random_dna_encoder("random-nt-v2:48x3")
    assert (encoder.config.hidden_size, encoder.config.num_hidden_layers) == (48, 3)
    evo2 = random_dna_encoder("random-evo2:16x5").config
    assert evo2.block_types == ["hcs", "hcm", "hcl", "attn", "hcs"] and evo2.default_feature_layer() == "blocks.4.mlp.l3"
    with pytest.raises(ValueError, match=r"'random-evo2:12x2': a random Evo 2 is `random-evo2:<hidden>x<layers>` "
                                         r"with hidden a positive multiple of 8"):
        random_dna_encoder("random-evo2:12x2")
    assert random_dna_encoder("InstaDeepAI/nucleotide-transformer-v2-50m-multi-species") is None  # a Hub id
    with pytest.raises(ValueError, match=r"'random-nt-v3:8x1' names no random DNA encoder.*one of \['evo2', 'nt-v2'\]"):
        random_dna_encoder("random-nt-v3:8x1")
    with pytest.raises(ValueError, match=r"'random-nt-v2:6x2': a random NT-v2 is `random-nt-v2:<hidden>x<layers>` "
                                         r"with hidden a positive multiple of 8"):
        random_dna_encoder("random-nt-v2:6x2")
