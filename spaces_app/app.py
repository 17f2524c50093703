"""BioReason Space: ask a BioReason model about a genetic variant and watch it reason.

    BIOREASON_MODEL=runs/quickstart/sft/final python spaces_app/app.py        # or --model <folder or Hub id>

The model loads only through `AutoModelForCausalLM` / `AutoProcessor` with `trust_remote_code=True`, so the Space
exercises the same remote code a Hub user gets. Inputs: a reference and a variant window (pasted, or a FASTA file with
the two records), or a VCF line plus a reference FASTA (the package's window builder splices the allele in), and a
question. The reasoning streams into a collapsible block; the final answer is shown on its own.
"""

from __future__ import annotations

import argparse
import os
import threading
from importlib.resources import files

import gradio as gr
import torch
from transformers import AutoModelForCausalLM, AutoProcessor, TextIteratorStreamer

from modeling_bioreason.data.genome import parse_vcf_line, variant_windows
from modeling_bioreason.data.windows import trim_flanks
from modeling_bioreason.example import load_example_rows
from modeling_bioreason.processing_bioreason import normalize_dna_sequence, split_reasoning

try:  # ZeroGPU on Hugging Face Spaces; a no-op elsewhere
    import spaces

    gpu = spaces.GPU
except ImportError:
    def gpu(function):
        return function

DEFAULT_MODEL = "runs/quickstart/sft/final"
MAX_NEW_TOKENS = int(os.environ.get("BIOREASON_MAX_NEW_TOKENS", "800"))
CENTER_BP = int(os.environ.get("BIOREASON_CENTER_BP", "0"))  # 0: use whole windows
FASTA_EXAMPLE = str(files("modeling_bioreason").joinpath("example_data", "hg38_chr22_32000000_32300000.fa"))
VEP_QUESTION = ("Mutation context: the first sequence is the reference window, the second carries the variant. "
                "Determine if this variant is likely to be benign or pathogenic.")


def central(sequence: str, center_bp: int) -> str:
    """The central `center_bp` bases of a window (all of it when 0 or shorter)."""
    if center_bp <= 0 or len(sequence) <= center_bp:
        return sequence
    return trim_flanks(sequence, (len(sequence) - center_bp) // 2)


class BioReasonDemo:
    """Loads a model once and answers questions about variants, streaming the reasoning."""

    def __init__(self, model_path: str):
        use_cuda = torch.cuda.is_available()
        self.model = AutoModelForCausalLM.from_pretrained(
            model_path, trust_remote_code=True, dtype=torch.bfloat16 if use_cuda else torch.float32,
            device_map="auto" if use_cuda else None,
        ).eval()
        self.processor = AutoProcessor.from_pretrained(model_path, trust_remote_code=True)
        max_tokens = self.processor.max_dna_tokens or self.processor.dna_tokenizer.model_max_length
        self.max_bp = (max_tokens - 1) * 6  # 6-mers after <cls>
        self.model_path = model_path

    # ----------------------------------------------------------------------------------------------- inputs
    def check_sequence(self, name: str, sequence: str) -> str:
        if not sequence or not sequence.strip():
            raise gr.Error(f"The {name} sequence is empty: paste the bases or upload a FASTA file.")
        try:
            sequence = normalize_dna_sequence(sequence.replace("\r", ""), iupac="to_n")
        except ValueError as error:
            raise gr.Error(f"{name.capitalize()} sequence: {error}") from error
        if len(sequence) > self.max_bp:
            raise gr.Error(f"The {name} sequence has {len(sequence):,} bp; this model accepts at most "
                           f"{self.max_bp:,} bp per sequence. Trim it around the variant.")
        return sequence

    @staticmethod
    def read_fasta_pair(path: str) -> tuple[str, str]:
        import pyfaidx

        try:
            with pyfaidx.Fasta(path, sequence_always_upper=True, as_raw=True) as fasta:
                records = [str(fasta[name][:]) for name in fasta.keys()]
        except Exception as error:  # pyfaidx raises several types on malformed files
            raise gr.Error(f"Could not read the FASTA file: {error}") from error
        if len(records) != 2:
            raise gr.Error(f"The FASTA file must hold exactly two records (reference, then variant); it has "
                           f"{len(records)}.")
        return records[0], records[1]

    @staticmethod
    def windows_from_vcf(vcf_line: str, fasta_path: str | None, flank: int) -> tuple[str, str]:
        if not fasta_path:
            raise gr.Error("Upload the reference FASTA that the VCF line's coordinates refer to.")
        try:
            variants = parse_vcf_line(vcf_line)
            window = variant_windows(fasta_path, variants[:1], int(flank))[0]
        except ValueError as error:
            raise gr.Error(str(error)) from error
        return window.reference_sequence, window.variant_sequence

    # ----------------------------------------------------------------------------------------------- answering
    @gpu
    def respond(self, source: str, reference: str, variant: str, fasta_file, vcf_line: str, vcf_fasta, flank: float,
                question: str, center_bp: float):
        """Stream `(chat history, answer markdown)` for one question."""
        if not question or not question.strip():
            raise gr.Error("Ask a question about the variant.")
        if source == "FASTA file":
            if fasta_file is None:
                raise gr.Error("Upload a FASTA file with the reference and the variant window.")
            reference, variant = self.read_fasta_pair(fasta_file)
        elif source == "VCF line + reference FASTA":
            reference, variant = self.windows_from_vcf(vcf_line, vcf_fasta, flank)
        reference = central(self.check_sequence("reference", reference), int(center_bp or 0))
        variant = central(self.check_sequence("variant", variant), int(center_bp or 0))
        messages = [{"role": "user", "content": [
            {"type": "dna", "sequence": reference}, {"type": "dna", "sequence": variant},
            {"type": "text", "text": question.strip()},
        ]}]
        inputs = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                    return_dict=True, return_tensors="pt").to(self.model.device)
        streamer = TextIteratorStreamer(self.processor.tokenizer, skip_prompt=True, skip_special_tokens=True)
        thread = threading.Thread(target=self.model.generate, kwargs=dict(
            **inputs, streamer=streamer, max_new_tokens=MAX_NEW_TOKENS, do_sample=False))
        thread.start()
        shown_question = f"{question.strip()}\n\n*(reference {len(reference):,} bp, variant {len(variant):,} bp)*"
        text = ""
        for piece in streamer:
            text += piece
            shown = text if text.strip() else "…"  # an empty message would not be shown at all
            yield [{"role": "user", "content": shown_question}, {"role": "assistant", "content": shown}], ""
        thread.join()
        answer = split_reasoning(text)["answer"]
        final = answer.split("Answer:")[-1].strip() if "Answer:" in answer else answer
        shown = text if text.strip() else "(the model produced no text)"
        yield ([{"role": "user", "content": shown_question}, {"role": "assistant", "content": shown}],
               f"### Answer\n**{final or '(no answer produced)'}**")


def examples() -> list[list]:
    kegg = [["Paste sequences", central(r["reference_sequence"], CENTER_BP or 4001),
             central(r["variant_sequence"], CENTER_BP or 4001), r["question"]] for r in load_example_rows("kegg")[:3]]
    clinvar = [["Paste sequences", r["ref"], r["alt"], VEP_QUESTION] for r in load_example_rows("clinvar")[:2]]
    return kegg + clinvar


def build_demo(demo_model: BioReasonDemo) -> gr.Blocks:
    with gr.Blocks(title="BioReason") as demo:
        gr.Markdown(
            "# BioReason: reasoning about genetic variants\n"
            "A DNA foundation model reads the reference and the variant window; a language model reasons about them "
            f"step by step and answers. Model: `{demo_model.model_path}`. **Research demo, not a clinical tool.**"
        )
        with gr.Row():
            with gr.Column(scale=5):
                source = gr.Radio(["Paste sequences", "FASTA file", "VCF line + reference FASTA"],
                                  value="Paste sequences", label="DNA input")
                with gr.Group(visible=True) as paste_group:
                    reference = gr.Textbox(label="Reference window", lines=4, max_lines=8,
                                           placeholder="ACGT... (the window around the variant, reference allele)")
                    variant = gr.Textbox(label="Variant window", lines=4, max_lines=8,
                                         placeholder="ACGT... (the same window carrying the alternate allele)")
                with gr.Group(visible=False) as fasta_group:
                    fasta_file = gr.File(label="FASTA with two records: reference, then variant", type="filepath")
                with gr.Group(visible=False) as vcf_group:
                    vcf_line = gr.Textbox(label="VCF line (CHROM POS ID REF ALT)", value="chr22 1004 . T C")
                    vcf_fasta = gr.File(label="Reference FASTA", type="filepath", value=FASTA_EXAMPLE)
                    flank = gr.Number(label="Bases on each side of the variant", value=2000, precision=0,
                                      minimum=10, maximum=5000)
                question = gr.Textbox(label="Question", lines=3,
                                      placeholder="What disease does this variant contribute to?")
                center_bp = gr.Number(label="Use the central N bp of each window (0 = whole window)", value=CENTER_BP,
                                      precision=0, minimum=0)
                ask = gr.Button("Ask BioReason", variant="primary")
            with gr.Column(scale=6):
                chat = gr.Chatbot(label="Reasoning", height=520, reasoning_tags=[("<think>", "</think>")])
                answer = gr.Markdown()
        source.change(
            lambda choice: (gr.update(visible=choice == "Paste sequences"), gr.update(visible=choice == "FASTA file"),
                            gr.update(visible=choice == "VCF line + reference FASTA")),
            source, [paste_group, fasta_group, vcf_group],
        )
        gr.Examples(examples(), [source, reference, variant, question], label="Real KEGG and ClinVar variants")
        ask.click(demo_model.respond, [source, reference, variant, fasta_file, vcf_line, vcf_fasta, flank, question,
                                       center_bp], [chat, answer], api_name="respond", concurrency_limit=1)
    # One generation at a time, and a bounded queue, so one user cannot starve the others.
    return demo.queue(default_concurrency_limit=1, max_size=int(os.environ.get("BIOREASON_QUEUE_SIZE", "16")))


def main() -> None:
    parser = argparse.ArgumentParser(description="BioReason Space")
    parser.add_argument("--model", default=os.environ.get("BIOREASON_MODEL", DEFAULT_MODEL))
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args()
    build_demo(BioReasonDemo(args.model)).launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
