"""BioReason as a transformers model package: DNA-encoder embeddings reasoned over by a causal LM.

Importing this package registers its classes with the transformers Auto classes, so saved BioReason folders load
without `trust_remote_code` from code that imports it; the saved folders also carry the remote code, so
`AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True)` works without this package.
"""

from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoProcessor,
    AutoTokenizer,
)

from .build import build_bioreason
from .configuration_bioreason import BioReasonConfig
from .configuration_evo2 import Evo2Config
from .configuration_nucleotide_transformer import NucleotideTransformerConfig
from .modeling_bioreason import BioReasonForConditionalGeneration, BioReasonModel, BioReasonPreTrainedModel
from .modeling_evo2 import Evo2ForCausalLM, Evo2Model
from .modeling_nucleotide_transformer import NucleotideTransformerForMaskedLM, NucleotideTransformerModel
from .processing_bioreason import BioReasonProcessor, normalize_dna_sequence
from .tokenization_evo2 import Evo2Tokenizer
from .tokenization_nucleotide_transformer import NucleotideTransformerTokenizer

__version__ = "0.1.0"


def _register_auto_classes() -> None:
    from .hub import card_for_push

    # model.push_to_hub uploads this package's card.
    BioReasonPreTrainedModel.card_renderer = staticmethod(card_for_push)
    # save_pretrained writes auto_map entries for these, making each saved folder self-contained remote code.
    BioReasonConfig.register_for_auto_class()
    BioReasonForConditionalGeneration.register_for_auto_class("AutoModelForCausalLM")
    BioReasonProcessor.register_for_auto_class()
    NucleotideTransformerConfig.register_for_auto_class()
    NucleotideTransformerModel.register_for_auto_class("AutoModel")
    NucleotideTransformerForMaskedLM.register_for_auto_class("AutoModelForMaskedLM")
    NucleotideTransformerTokenizer.register_for_auto_class("AutoTokenizer")
    Evo2Config.register_for_auto_class()
    Evo2Model.register_for_auto_class("AutoModel")
    Evo2ForCausalLM.register_for_auto_class("AutoModelForCausalLM")
    Evo2Tokenizer.register_for_auto_class("AutoTokenizer")
    # Local registration: code that imports this package needs no trust_remote_code.
    for name, config_class in (("bioreason", BioReasonConfig), ("nucleotide_transformer", NucleotideTransformerConfig),
                               ("evo2", Evo2Config)):
        try:
            AutoConfig.register(name, config_class)
        except ValueError:  # already registered (module reloaded)
            continue
    AutoModel.register(BioReasonConfig, BioReasonForConditionalGeneration, exist_ok=True)
    AutoModelForCausalLM.register(BioReasonConfig, BioReasonForConditionalGeneration, exist_ok=True)
    AutoModel.register(NucleotideTransformerConfig, NucleotideTransformerModel, exist_ok=True)
    AutoModelForMaskedLM.register(NucleotideTransformerConfig, NucleotideTransformerForMaskedLM, exist_ok=True)
    AutoProcessor.register(BioReasonConfig, BioReasonProcessor, exist_ok=True)
    AutoTokenizer.register(NucleotideTransformerConfig, tokenizer_class=NucleotideTransformerTokenizer, exist_ok=True)
    AutoModel.register(Evo2Config, Evo2Model, exist_ok=True)
    AutoModelForCausalLM.register(Evo2Config, Evo2ForCausalLM, exist_ok=True)
    AutoTokenizer.register(Evo2Config, tokenizer_class=Evo2Tokenizer, exist_ok=True)


_register_auto_classes()

__all__ = [
    "BioReasonConfig",
    "BioReasonForConditionalGeneration",
    "BioReasonModel",
    "BioReasonPreTrainedModel",
    "BioReasonProcessor",
    "Evo2Config",
    "Evo2ForCausalLM",
    "Evo2Model",
    "Evo2Tokenizer",
    "NucleotideTransformerConfig",
    "NucleotideTransformerForMaskedLM",
    "NucleotideTransformerModel",
    "NucleotideTransformerTokenizer",
    "build_bioreason",
    "normalize_dna_sequence",
]
