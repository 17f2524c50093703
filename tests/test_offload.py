"""Offload: device_map="auto" with max_memory forcing CPU and disk offload, and accelerate.cpu_offload. Logits and
greedy generation equal the non-offloaded model's."""

import accelerate
import pytest
import torch

from entry_points import chat_inputs, saved_folder, short_chat, small_bioreason
from modeling_bioreason import BioReasonForConditionalGeneration

BATCH = [short_chat(["ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGGTTACA"]),
         short_chat(["GATTACAGATTACAGATTACAGATTACA"], "Another question?")]


@pytest.fixture(scope="module")
def reference(encoder_kind):
    model, processor = small_bioreason(encoder_kind)
    inputs = chat_inputs(processor, BATCH)
    with torch.no_grad():
        logits = model(**inputs).logits
    return inputs, logits, model.generate(**inputs, max_new_tokens=5, do_sample=False)


@torch.no_grad()
def test_device_map_auto_with_cpu_and_disk_offload(tmp_path_factory, tmp_path, reference, encoder_kind):
    inputs, logits, generated = reference
    folder = saved_folder(tmp_path_factory.getbasetemp() / "offload", encoder_kind)
    size = sum(p.numel() * p.element_size() for p in small_bioreason(encoder_kind)[0].parameters())
    model = BioReasonForConditionalGeneration.from_pretrained(  # three quarters of the model fit in "CPU memory"
        folder, device_map="auto", max_memory={"cpu": f"{int(0.75 * size) // 1024}KB"},
        offload_folder=str(tmp_path / "offload")
    )
    placements = set(model.hf_device_map.values())
    assert placements == {"cpu", "disk"}, model.hf_device_map  # both kinds of offload are exercised
    # No encoder layer / decoder layer / projector (the `_no_split_modules`) is split across devices.
    unsplit = [name for name, module in model.named_modules() if type(module).__name__ in model._no_split_modules]
    assert any(".dna_encoder." in name for name in unsplit) and any("language_model" in name for name in unsplit)
    for name in model.hf_device_map:
        assert not any(name.startswith(f"{whole}.") for whole in unsplit), name
    torch.testing.assert_close(model(**inputs).logits, logits, atol=1e-5, rtol=1e-5)
    assert torch.equal(model.generate(**inputs, max_new_tokens=5, do_sample=False), generated)


@torch.no_grad()
def test_accelerate_cpu_offload(tmp_path_factory, reference, encoder_kind):
    inputs, logits, generated = reference
    folder = saved_folder(tmp_path_factory.getbasetemp() / "offload", encoder_kind)
    model = BioReasonForConditionalGeneration.from_pretrained(folder).eval()
    accelerate.cpu_offload(model, execution_device=torch.device("cpu"))
    assert any(p.is_meta for p in model.parameters())  # weights live off the module until each forward
    torch.testing.assert_close(model(**inputs).logits, logits, atol=1e-5, rtol=1e-5)
    assert torch.equal(model.generate(**inputs, max_new_tokens=5, do_sample=False), generated)
