"""BioReason Space: ask a BioReason model about a genetic variant and watch it reason.

    BIOREASON_MODEL=runs/quickstart/sft/final python spaces_app/app.py        # or --model <folder or Hub id>

Sealed: this folder imports only what its `requirements.txt` installs (gradio, torch, transformers, pysam) and its own
files (`genome.py`, the window builder; `examples/`). The model is the one the Space's owner configures
(`BIOREASON_MODEL`, a Hub id on a pushed Space, which `bioreason push space --model` sets; optionally pinned with
`BIOREASON_MODEL_REVISION`); without it the Space stops at boot, naming that setting. It loads through
`AutoModelForCausalLM` / `AutoProcessor` with `trust_remote_code=True`, so the Space runs that model's own code and no
other: nothing a visitor sends chooses what is loaded.

Inputs: a reference and a variant window (pasted, or a FASTA file with the two records), or a VCF line plus a reference
FASTA (the window builder splices the allele in), and a question. The reasoning streams into a collapsible block; the
final answer is shown on its own. Every input is capped (question and prompt in tokens, DNA in bases, uploads in
bytes) and generation stops when the visitor goes away, so one visitor cannot stall the others.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gzip
import json
import os
import re
import shutil
import struct
import tempfile
import sys
import threading
from collections import OrderedDict
from pathlib import Path

DEFAULT_MODEL = "runs/quickstart/sft/final"  # what `bioreason quickstart` builds; a pushed Space has no such folder


def check_model_setting(model: str | None) -> str:
    """The model to serve, or a SystemExit that names the BIOREASON_MODEL setting: a pushed Space has no local
    folders, so it needs the repo id of the model it serves."""
    if not model:
        raise SystemExit("No model to serve: set the Space variable BIOREASON_MODEL to a model repo id (owner/name; "
                         "`bioreason push space --model owner/name` sets it), or run app.py --model <folder or id>.")
    if os.path.exists(model):
        return model
    parts = model.split("/")
    if len(parts) != 2 or not all(re.fullmatch(r"[\w.-]+", part) for part in parts):
        raise SystemExit(f"BIOREASON_MODEL={model!r} is neither a folder here nor a model repo id (owner/name): set "
                         "the Space variable BIOREASON_MODEL to the repo id of the model this Space serves.")
    return model


def default_model() -> str | None:
    return os.environ.get("BIOREASON_MODEL") or (DEFAULT_MODEL if os.path.exists(DEFAULT_MODEL) else None)


if __name__ == "__main__" and not any(arg.startswith("--model") for arg in sys.argv[1:]):
    check_model_setting(default_model())  # a Space without its model stops now, not after seconds of imports

import gradio as gr  # noqa: E402
import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoProcessor, StoppingCriteria, TextIteratorStreamer  # noqa: E402

try:  # imported as `spaces_app.app` (tests) or run as `python app.py` (the Space)
    from .genome import open_fasta, parse_vcf_line, variant_windows
except ImportError:
    from genome import open_fasta, parse_vcf_line, variant_windows

try:  # ZeroGPU on Hugging Face Spaces: a GPU is attached only while a decorated function runs
    import spaces

    def gpu(duration: int):
        return spaces.GPU(duration=duration)
except ImportError:
    def gpu(duration: int):
        return lambda function: function


class Refusal(gr.Error):
    """A refused input: the visitor sees the message; the Space's log gets no traceback (nothing went wrong here)."""

    def __init__(self, message: str):
        super().__init__(message, print_exception=False)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


HERE = Path(__file__).resolve().parent
MAX_NEW_TOKENS = _env_int("BIOREASON_MAX_NEW_TOKENS", 800)
MAX_QUESTION_TOKENS = _env_int("BIOREASON_MAX_QUESTION_TOKENS", 2048)  # KEGG questions reach 1,115
MAX_PROMPT_TOKENS = _env_int("BIOREASON_MAX_PROMPT_TOKENS", 0)  # 0: both windows at the model's cap + the question
MAX_UPLOAD_MB = _env_int("BIOREASON_MAX_UPLOAD_MB", 64)
MAX_FASTA_MB = _env_int("BIOREASON_MAX_FASTA_MB", 512)  # a reference FASTA's size decompressed (bgzip)
MAX_VCF_LINE_CHARS = 1000
MAX_FLANK = 5000
GPU_DURATION = _env_int("BIOREASON_GPU_SECONDS", 120)
QUEUE_SIZE = _env_int("BIOREASON_QUEUE_SIZE", 16)
CENTER_BP = _env_int("BIOREASON_CENTER_BP", 0)  # 0: use whole windows
FASTA_EXAMPLE = str(HERE / "examples" / "hg38_chr22_32000000_32300000.fa")
IUPAC_AMBIGUITY = "RYSWKMBDHV"
GENERATION_THREAD = "bioreason-generate"


def central(sequence: str, center_bp: int) -> str:
    """The central `center_bp` bases of a window (all of it when 0 or shorter)."""
    if center_bp <= 0 or len(sequence) <= center_bp:
        return sequence
    start = (len(sequence) - center_bp) // 2
    return sequence[start:start + center_bp]


def read_completion(text: str) -> dict:
    """
    `{"reasoning", "answer", "finished"}` of a completion, by the model package's rule: the reasoning is the text
    inside `<think>...</think>` (all of it after `<think>` when generation stopped before `</think>`), the answer what
    follows the last `Answer:` after the thinking block (None when there is none). `finished` is False when the text
    stopped inside the thinking block.
    """
    reasoning, rest, finished = "", text, True
    if "</think>" in text:
        reasoning, rest = text.split("</think>", 1)
        reasoning = reasoning.split("<think>", 1)[-1]
    elif "<think>" in text:
        reasoning, rest, finished = text.split("<think>", 1)[1], "", False
    answer = rest.rsplit("Answer:", 1)[1].strip() if "Answer:" in rest else None
    return {"reasoning": reasoning.strip(), "answer": answer, "finished": finished}


def final_answer(text: str) -> tuple[str, str | None]:
    """`(reasoning, answer)` of a completion (see `read_completion`)."""
    parsed = read_completion(text)
    return parsed["reasoning"], parsed["answer"]


def shown_model_name(model_path: str, revision: str | None = None) -> str:
    """What the page says it serves: a Hub id (and revision) as given; a local folder by its name only, never the
    machine's path to it."""
    if os.path.exists(model_path):
        return f"{Path(model_path).resolve().name} (a local folder)"
    return f"{model_path}@{revision}" if revision else model_path


def load_examples() -> list[list]:
    rows = json.loads((HERE / "examples" / "examples.json").read_text(encoding="utf-8"))
    return [["Paste sequences", central(r["reference"], CENTER_BP), central(r["variant"], CENTER_BP), r["question"]]
            for r in rows]


class StopOnEvent(StoppingCriteria):
    """Stops generation once `event` is set: the request that started it ended (finished, cancelled, disconnected)."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


def bgzip_decompressed_size(path: str, limit: int) -> int:
    """
    The bytes a bgzip file decompresses to, summed from its blocks' headers (each BGZF block states its size, at
    most 64 KiB) without decompressing anything; the walk stops once past `limit`. ValueError for a file that is not
    a series of BGZF blocks.
    """
    total, position, size = 0, 0, os.path.getsize(path)
    with open(path, "rb", buffering=1 << 20) as handle:
        while position < size and total <= limit:
            handle.seek(position)
            head = handle.read(12)
            if len(head) < 12 or head[:2] != b"\x1f\x8b" or not head[3] & 4:
                raise ValueError(f"not a bgzip file (byte {position:,} does not start a BGZF block)")
            extra = handle.read(struct.unpack("<H", head[10:12])[0])
            block_size, offset = None, 0
            while offset + 4 <= len(extra):  # the 'BC' subfield holds the block's size - 1
                length = struct.unpack("<H", extra[offset + 2:offset + 4])[0]
                if extra[offset:offset + 2] == b"BC" and length == 2:
                    block_size = struct.unpack("<H", extra[offset + 4:offset + 6])[0] + 1
                offset += 4 + length
            if block_size is None or position + block_size > size:
                raise ValueError(f"not a bgzip file (the block at byte {position:,} has no valid BGZF size)")
            handle.seek(position + block_size - 4)
            block_bytes = struct.unpack("<I", handle.read(4))[0]
            if block_bytes > 65536:
                raise ValueError(f"not a bgzip file (the block at byte {position:,} states {block_bytes:,} bytes)")
            total += block_bytes
            position += block_size
    return total


class FastaIndexes:
    """
    Indexes of uploaded reference FASTAs, each built once in a private folder (a link to the upload and its
    `.fai`/`.gzi`) and kept for the next requests on the same file (keyed by path, size, mtime and inode, so a
    replaced file is indexed afresh). Building checks the caps first: the upload's size and, for bgzip, its
    decompressed size. The Space builds them when a file is uploaded, outside the generation slot.
    """

    def __init__(self, keep: int = 8):
        self.keep, self.lock, self.entries, self.in_use = keep, threading.Lock(), OrderedDict(), {}
        atexit.register(self.clear)

    @staticmethod
    def key(path: str) -> tuple:
        stat = os.stat(path)
        return os.path.realpath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino

    def prepare(self, path: str) -> str:
        """The indexed link for `path` (built now unless cached). gr.Error names what is wrong with the file."""
        key = self.key(path)
        with self.lock:
            if key in self.entries and os.path.isdir(self.entries[key]):
                self.entries.move_to_end(key)
                return os.path.join(self.entries[key], os.path.basename(path))
        BioReasonDemo.check_upload(path, "reference FASTA")
        with open(path, "rb") as handle:
            compressed = handle.read(2) == b"\x1f\x8b"
        if compressed:
            limit = MAX_FASTA_MB * 1024 * 1024
            try:
                size = bgzip_decompressed_size(path, limit)
            except (OSError, ValueError, struct.error) as error:
                raise Refusal(f"The reference FASTA {os.path.basename(path)} is gzip-compressed but {error}: compress "
                               "it with bgzip, or upload it uncompressed.") from None
            if size > limit:
                raise Refusal(f"The reference FASTA {os.path.basename(path)} decompresses to more than {size:,} "
                               f"bytes; this Space indexes at most {MAX_FASTA_MB} MB of sequence. Upload the "
                               "chromosome (or region) the variant is on.")
        folder = tempfile.mkdtemp(prefix="bioreason-fasta-")
        link = os.path.join(folder, os.path.basename(path))
        os.symlink(os.path.abspath(path), link)
        try:
            open_fasta(link).close()  # builds .fai (and .gzi) next to the link
        except ValueError as error:
            shutil.rmtree(folder, ignore_errors=True)
            raise Refusal(str(error).replace(link, os.path.basename(path))) from None
        with self.lock:
            previous = self.entries.pop(key, None)
            self.entries[key] = folder
            stale = [previous] if previous else []
            while len(self.entries) > self.keep:
                stale.append(self.entries.popitem(last=False)[1])
        for old in stale:
            self._remove_when_unused(old)
        return link

    @contextlib.contextmanager
    def use(self, path: str):
        """The indexed link for `path`, kept on disk while the caller reads it."""
        link = self.prepare(path)
        folder = os.path.dirname(link)
        with self.lock:
            self.in_use[folder] = self.in_use.get(folder, 0) + 1
        try:
            yield link
        finally:
            with self.lock:
                self.in_use[folder] -= 1
                unused = not self.in_use[folder] and folder not in self.entries.values()
                if not self.in_use[folder]:
                    del self.in_use[folder]
            if unused:
                shutil.rmtree(folder, ignore_errors=True)

    def _remove_when_unused(self, folder: str) -> None:
        with self.lock:
            busy = self.in_use.get(folder, 0) > 0
        if not busy:  # otherwise the last user removes it
            shutil.rmtree(folder, ignore_errors=True)

    def clear(self) -> None:
        with self.lock:
            folders, self.entries = list(self.entries.values()), OrderedDict()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


_LOADED: dict = {}  # the one model this Space serves, loaded once: {"model": ..., "tokenizer": ...}


@gpu(duration=GPU_DURATION)
def generate_stream(inputs: dict, max_new_tokens: int):
    """Yield the completion's text as it is generated; generation stops as soon as the caller stops iterating."""
    model, tokenizer = _LOADED["model"], _LOADED["tokenizer"]
    inputs = {key: value.to(model.device) for key, value in inputs.items()}
    stop, failure = threading.Event(), []
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)

    def run():
        try:
            with torch.inference_mode():
                model.generate(**inputs, streamer=streamer, max_new_tokens=max_new_tokens, do_sample=False,
                               stopping_criteria=[StopOnEvent(stop)])
        except Exception as error:  # reported to the visitor below; the streamer must still end
            failure.append(error)
            streamer.end()

    thread = threading.Thread(target=run, name=GENERATION_THREAD, daemon=True)
    thread.start()
    try:
        yield from streamer
    finally:  # also on GeneratorExit: gradio closes the generator when the visitor cancels or disconnects
        stop.set()
        thread.join(timeout=60)
    if failure:
        raise gr.Error(f"Generation failed: {type(failure[0]).__name__}: {failure[0]}")


class BioReasonDemo:
    """Loads the configured model once (bf16 on CUDA, fp32 on CPU) and answers questions about variants."""

    def __init__(self, model_path: str, revision: str | None = None):
        use_cuda = torch.cuda.is_available()
        model = AutoModelForCausalLM.from_pretrained(
            model_path, revision=revision, trust_remote_code=True, dtype=torch.bfloat16 if use_cuda else torch.float32,
        ).to("cuda" if use_cuda else "cpu").eval()
        self.attach(model, AutoProcessor.from_pretrained(model_path, revision=revision, trust_remote_code=True),
                    shown_model_name(model_path, revision))

    @classmethod
    def from_loaded(cls, model, processor, model_path: str = "in-memory") -> "BioReasonDemo":
        """A demo around a model and processor already in memory (benchmarks, tests)."""
        demo = cls.__new__(cls)
        demo.attach(model.eval(), processor, model_path)
        return demo

    def attach(self, model, processor, model_path: str) -> None:
        self.model, self.processor = model, processor
        self.tokenizer = self.processor.tokenizer
        _LOADED.update(model=self.model, tokenizer=self.tokenizer)
        self.max_dna_tokens = self.processor.max_dna_tokens or self.processor.dna_tokenizer.model_max_length
        # What fits max_dna_tokens with this encoder's tokenizer; folders saved before the processor said so hold
        # NT-v2 (6-mers after <cls>).
        self.max_bp = getattr(self.processor, "max_dna_bases", (self.max_dna_tokens - 1) * 6)
        self.max_prompt_tokens = MAX_PROMPT_TOKENS or 2 * self.max_dna_tokens + MAX_QUESTION_TOKENS + 128
        # Tokens of the prompt format (<|dna_pad|>, <|im_start|>, ...): typed into a question they would corrupt it.
        self.reserved = sorted({token.content for token in self.tokenizer.added_tokens_decoder.values() if token.special}
                               | set(self.tokenizer.all_special_tokens), key=len, reverse=True)
        self.model_path = model_path  # as the page shows it (`shown_model_name`): never a machine path
        self.fasta_indexes = FastaIndexes()

    # ----------------------------------------------------------------------------------------------- inputs
    def check_question(self, question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise Refusal("Ask a question about the variant.")
        cap = f"this Space accepts at most {MAX_QUESTION_TOKENS} tokens"
        if len(question) > 16 * MAX_QUESTION_TOKENS:  # refused before tokenizing: no token is shorter than a character
            raise Refusal(f"The question has {len(question):,} characters; {cap}. Shorten it.")
        for token in self.reserved:
            if token in question:
                raise Refusal(f"The question contains {token!r}, a token reserved for the model's prompt format; "
                               "remove it (the DNA goes in the sequence fields).")
        tokens = len(self.tokenizer(question, add_special_tokens=False)["input_ids"])
        if tokens > MAX_QUESTION_TOKENS:
            raise Refusal(f"The question is {tokens:,} tokens long; {cap}. Shorten it.")
        return question

    def check_sequence(self, name: str, sequence: str) -> str:
        sequence = (sequence or "").strip().replace("\r", "")
        if not sequence:
            raise Refusal(f"The {name} window is empty: paste the bases or upload a FASTA file.")
        cap = f"this model accepts at most {self.max_bp:,} bp ({self.max_dna_tokens:,} DNA tokens) per window"
        if len(sequence) > 2 * self.max_bp:  # refused before scanning it
            raise Refusal(f"The {name} window has {len(sequence):,} characters; {cap}. Trim it around the variant.")
        if sequence.startswith(">"):
            raise Refusal(f"The {name} window starts with a FASTA header ({sequence.splitlines()[0][:40]!r}): paste "
                           "the bases only, or choose 'FASTA file'.")
        sequence = re.sub(f"[{IUPAC_AMBIGUITY}]", "N", sequence.upper())
        bad = re.search(r"[^ACGTN]", sequence)
        if bad:
            what = "whitespace" if bad.group().isspace() else f"invalid character {bad.group()!r}"
            raise Refusal(f"The {name} window has {what} at position {bad.start() + 1:,}; allowed: A, C, G, T, N "
                           "(IUPAC ambiguity codes are read as N).")
        if len(sequence) > self.max_bp:
            raise Refusal(f"The {name} window has {len(sequence):,} bp; {cap}. Trim it around the variant.")
        if set(sequence) == {"N"}:
            raise Refusal(f"The {name} window is all N ({len(sequence):,} unknown bases): there is no sequence to "
                           "read. Give the window's real bases.")
        return sequence

    @staticmethod
    def check_upload(path: str, what: str) -> None:
        size = os.path.getsize(path)
        if size > MAX_UPLOAD_MB * 1024 * 1024:
            raise Refusal(f"The {what} is {size / 1024 / 1024:.1f} MB; this Space accepts at most {MAX_UPLOAD_MB} MB.")

    def read_fasta_pair(self, path: str) -> tuple[str, str]:
        self.check_upload(path, "FASTA file")
        with open(path, "rb") as handle:
            compressed = handle.read(2) == b"\x1f\x8b"
        try:
            with (gzip.open(path, "rt") if compressed else open(path, encoding="utf-8")) as handle:
                text = handle.read(4 * self.max_bp + 10_000)
                if handle.read(1):
                    raise Refusal(f"The FASTA file holds more than two windows of at most {self.max_bp:,} bp.")
        except (OSError, UnicodeDecodeError, EOFError) as error:
            raise Refusal(f"Could not read the FASTA file: {error}") from error
        records, current = [], None
        for line in text.splitlines():
            if line.startswith(">"):
                current = []
                records.append(current)
            elif line.strip():
                if current is None:
                    raise Refusal("The FASTA file does not start with a '>' header line.")
                current.append(line.strip())
        if len(records) != 2:
            raise Refusal(f"The FASTA file must hold exactly two records (reference, then variant); it has "
                           f"{len(records)}.")
        return "".join(records[0]), "".join(records[1])

    def windows_from_vcf(self, vcf_line: str, fasta_path: str | None, flank) -> tuple[str, str]:
        vcf_line = (vcf_line or "").strip()
        if not vcf_line:
            raise Refusal("Give a VCF line: CHROM POS ID REF ALT.")
        if len(vcf_line) > MAX_VCF_LINE_CHARS:
            raise Refusal(f"The VCF line has {len(vcf_line):,} characters; at most {MAX_VCF_LINE_CHARS} are accepted.")
        if not fasta_path:
            raise Refusal("Upload the reference FASTA that the VCF line's coordinates refer to.")
        if flank is None or not 0 <= int(flank) <= MAX_FLANK:
            raise Refusal(f"Bases on each side of the variant must be between 0 and {MAX_FLANK}; got {flank}.")
        try:
            variants = parse_vcf_line(vcf_line)
        except ValueError as error:
            raise Refusal(str(error)) from error
        if len(variants) > 1:
            raise Refusal(f"The VCF line has {len(variants)} ALT alleles ({', '.join(v.alt for v in variants)}); "
                           "the Space explains one variant at a time: give one ALT per line, e.g. "
                           f"'{variants[0].chrom} {variants[0].pos} . {variants[0].ref} {variants[0].alt}'.")
        # The index lives in a private folder (a link to the upload inside it), built when the file was uploaded:
        # uploads of the same file share one cached path, so an index beside it could be another request's.
        with self.fasta_indexes.use(fasta_path) as link:
            try:
                window = variant_windows(link, variants, int(flank))[0]
            except ValueError as error:
                raise Refusal(str(error).replace(link, os.path.basename(fasta_path))) from error
        return window.reference_sequence, window.variant_sequence

    def index_upload(self, fasta_path: str | None) -> None:
        """Index an uploaded reference FASTA as it arrives (its own queue, not the generation slot)."""
        if fasta_path:
            self.fasta_indexes.prepare(fasta_path)

    def prepare(self, source, reference, variant, fasta_file, vcf_line, vcf_fasta, flank, question, center_bp):
        """Validated model inputs and the question as shown; every problem is a `gr.Error` naming it."""
        question = self.check_question(question)
        if source == "FASTA file":
            if fasta_file is None:
                raise Refusal("Upload a FASTA file with the reference and the variant window.")
            reference, variant = self.read_fasta_pair(fasta_file)
        elif source == "VCF line + reference FASTA":
            reference, variant = self.windows_from_vcf(vcf_line, vcf_fasta, flank)
        elif source != "Paste sequences":
            raise Refusal(f"Unknown DNA input {source!r}: choose 'Paste sequences', 'FASTA file' or "
                           "'VCF line + reference FASTA'.")
        center_bp = int(center_bp or 0)
        if center_bp < 0:
            raise Refusal(f"The central N bp must be 0 (whole window) or more; got {center_bp}.")
        reference = central(self.check_sequence("reference", reference), center_bp)
        variant = central(self.check_sequence("variant", variant), center_bp)
        messages = [{"role": "user", "content": [
            {"type": "dna", "sequence": reference}, {"type": "dna", "sequence": variant},
            {"type": "text", "text": question},
        ]}]
        try:
            inputs = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                        return_dict=True, return_tensors="pt")
        except ValueError as error:
            raise Refusal(f"The model's processor refused the input: {error}") from error
        length = inputs["input_ids"].shape[1]
        if length > self.max_prompt_tokens:
            raise Refusal(f"The prompt is {length:,} tokens (question and both windows); this Space accepts at most "
                           f"{self.max_prompt_tokens:,}. Use fewer bases (e.g. the central N bp setting).")
        shown = f"{question}\n\n*(reference {len(reference):,} bp, variant {len(variant):,} bp)*"
        return dict(inputs), shown

    # ----------------------------------------------------------------------------------------------- answering
    def respond(self, source: str = "Paste sequences", reference: str = "", variant: str = "", fasta_file=None,
                vcf_line: str = "", vcf_fasta=None, flank: float = 2000, question: str = "", center_bp: float = 0):
        """
        Ask the BioReason model about one genetic variant and stream its reasoning, then its answer.

        Args:
            source: where the DNA comes from: "Paste sequences", "FASTA file" or "VCF line + reference FASTA".
            reference: the reference DNA window (A/C/G/T/N), for "Paste sequences".
            variant: the same window carrying the alternate allele, for "Paste sequences".
            fasta_file: a FASTA file with two records (reference, then variant), for "FASTA file" only.
            vcf_line: one VCF data line "CHROM POS ID REF ALT" with a single ALT, for "VCF line + reference FASTA".
            vcf_fasta: the reference FASTA (plain or bgzip) the VCF line's coordinates refer to (VCF input only).
            flank: bases on each side of the variant when building windows from the VCF line.
            question: the question about the variant, e.g. "What disease does this variant contribute to?".
            center_bp: use only the central N bases of each window (0 = whole window).

        Returns:
            The chat (question, then the model's streamed reasoning) and the final answer as markdown.
        """
        inputs, shown_question = self.prepare(source, reference, variant, fasta_file, vcf_line, vcf_fasta, flank,
                                              question, center_bp)
        text, budget = "", MAX_NEW_TOKENS
        # closing(): when gradio closes this generator (cancel, disconnect), the generation is closed, so it stops.
        with contextlib.closing(generate_stream(inputs, budget)) as pieces:
            for piece in pieces:
                text += piece
                shown = text if text.strip() else "…"  # an empty message would not be shown at all
                yield [{"role": "user", "content": shown_question}, {"role": "assistant", "content": shown}], ""
        parsed = read_completion(text)
        answer = parsed["answer"]
        if answer:
            answer_md = f"### Answer\n**{answer}**"
        elif not parsed["finished"]:
            answer_md = (f"### No answer\nGeneration stopped inside the reasoning, after its {budget} new tokens: the "
                         "reasoning panel shows how far it got.")
        elif answer is None:
            answer_md = (f"### No answer\nThe model wrote no `Answer:` line (it may have used up its {budget} new "
                         "tokens); its full text is in the reasoning panel.")
        else:
            answer_md = "### No answer\nThe model wrote `Answer:` with nothing after it."
        shown = text if text.strip() else "(the model produced no text)"
        yield [{"role": "user", "content": shown_question}, {"role": "assistant", "content": shown}], answer_md

    def explain_variant(self, reference: str, variant: str, question: str) -> dict:
        """
        Ask the BioReason model whether and how a DNA variant matters; returns its reasoning and its answer.

        Args:
            reference: the reference DNA window around the variant (A/C/G/T/N, e.g. 4,001 bp centred on it).
            variant: the same window carrying the alternate allele.
            question: the question, e.g. "What disease does this variant contribute to?" or "Is this variant benign
                or pathogenic?".

        Returns:
            {"reasoning": the model's step-by-step reasoning (partial when cut off), "answer": its final answer, or
            null when it gave none, "finished": false when generation stopped inside the reasoning, "note": what
            happened, in words}.
        """
        for name, value in (("reference", reference), ("variant", variant), ("question", question)):
            if value is not None and not isinstance(value, str):  # API and MCP callers send raw JSON values
                raise Refusal(f"`{name}` must be a string; got {type(value).__name__} {str(value)[:40]!r}.")
        inputs, _ = self.prepare("Paste sequences", reference, variant, None, "", None, 0, question, CENTER_BP)
        with contextlib.closing(generate_stream(inputs, MAX_NEW_TOKENS)) as pieces:
            text = "".join(pieces)
        parsed = read_completion(text)
        if not parsed["finished"]:
            note = (f"Generation stopped inside the reasoning after {MAX_NEW_TOKENS} new tokens: the reasoning is "
                    "partial and there is no answer.")
        elif parsed["answer"] is None:
            note = "The model wrote no `Answer:` line; its text is in `reasoning`."
        else:
            note = "The model reasoned, then answered."
        return {**parsed, "note": note}


def build_demo(demo_model: BioReasonDemo) -> gr.Blocks:
    # Uploads are deleted an hour after they arrive (checked every 10 minutes) and when the server restarts.
    with gr.Blocks(title="BioReason", delete_cache=(600, 3600)) as demo:
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
                                           max_length=2 * demo_model.max_bp, elem_id="reference",
                                           placeholder="ACGT... (the window around the variant, reference allele)")
                    variant = gr.Textbox(label="Variant window", lines=4, max_lines=8,
                                         max_length=2 * demo_model.max_bp, elem_id="variant",
                                         placeholder="ACGT... (the same window carrying the alternate allele)")
                with gr.Group(visible=False) as fasta_group:
                    fasta_file = gr.File(label="FASTA with two records: reference, then variant", type="filepath")
                with gr.Group(visible=False) as vcf_group:
                    vcf_line = gr.Textbox(label="VCF line (CHROM POS ID REF ALT, one ALT)", value="chr22 1004 . T C",
                                          max_length=MAX_VCF_LINE_CHARS)
                    vcf_fasta = gr.File(label=f"Reference FASTA, plain or bgzip (at most {MAX_UPLOAD_MB} MB)",
                                        type="filepath", value=FASTA_EXAMPLE)
                    flank = gr.Number(label="Bases on each side of the variant", value=2000, precision=0,
                                      minimum=0, maximum=MAX_FLANK)
                question = gr.Textbox(label=f"Question (at most {MAX_QUESTION_TOKENS} tokens)", lines=3,
                                      max_length=16 * MAX_QUESTION_TOKENS, elem_id="question",
                                      placeholder="What disease does this variant contribute to?")
                center_bp = gr.Number(label="Use the central N bp of each window (0 = whole window)", value=CENTER_BP,
                                      precision=0, minimum=0)
                ask = gr.Button("Ask BioReason", variant="primary", elem_id="ask")
            with gr.Column(scale=6):
                chat = gr.Chatbot(label="Reasoning", height=520, reasoning_tags=[("<think>", "</think>")],
                                  elem_id="reasoning")
                answer = gr.Markdown(label="Answer", elem_id="answer")
        source.change(
            lambda choice: (gr.update(visible=choice == "Paste sequences"), gr.update(visible=choice == "FASTA file"),
                            gr.update(visible=choice == "VCF line + reference FASTA")),
            source, [paste_group, fasta_group, vcf_group], api_visibility="private", queue=False,
        )
        gr.Examples(load_examples(), [source, reference, variant, question], label="Real KEGG and ClinVar variants")
        # A new question first clears the last answer, so a refused input never leaves a stale one on screen.
        ask.click(lambda: ([], ""), None, [chat, answer], queue=False, api_visibility="private").then(
            demo_model.respond, [source, reference, variant, fasta_file, vcf_line, vcf_fasta, flank, question,
                                 center_bp], [chat, answer], api_name="respond", concurrency_id="generate",
            concurrency_limit=1)
        # The MCP tool (and API endpoint) `explain_variant`: three strings in (raw JSON values, checked by the
        # function), one labelled, described object out.
        gr.api(demo_model.explain_variant, api_name="explain_variant", concurrency_id="generate", concurrency_limit=1)
        [tool] = [fn for fn in demo.fns.values() if fn.api_name == "explain_variant"]
        tool.outputs[0].label = EXPLANATION_LABEL
        tool.outputs[0]._api_info = EXPLANATION_SCHEMA
        # A reference FASTA is checked and indexed when it is uploaded, beside (never inside) the generation slot.
        vcf_fasta.upload(demo_model.index_upload, vcf_fasta, None, api_name="index_fasta",
                         api_visibility="undocumented", concurrency_id="index", concurrency_limit=2)
    # One generation at a time, and a bounded queue: requests beyond it are refused ("Queue is full").
    return demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)


EXPLANATION_LABEL = "Explanation (reasoning, answer, finished, note)"
EXPLANATION_SCHEMA = {
    "type": "object", "description": "the model's reasoning and answer about the variant",
    "properties": {"reasoning": {"type": "string"}, "answer": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                   "finished": {"type": "boolean"}, "note": {"type": "string"}},
    "required": ["reasoning", "answer", "finished", "note"],
}
# The tools an MCP client sees: the plain-text question about two windows. `/respond` (the page's streaming endpoint,
# with upload inputs) stays an API endpoint for gradio_client, not an MCP tool.
MCP_ENDPOINTS = ("/explain_variant",)


def mcp_available() -> bool:
    try:
        import mcp  # noqa: F401  (installed by gradio[mcp])
    except ImportError:
        return False
    return True


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = None, prevent_thread_lock: bool = False,
           **kwargs):
    """Launch with the Space's limits: uploads over the cap are refused while they stream in; an MCP server (when
    it can) whose only tools are `MCP_ENDPOINTS`."""
    mcp_server = os.environ.get("BIOREASON_MCP_SERVER", "1") != "0" and mcp_available()
    launched = demo.launch(server_name=host, server_port=port, max_file_size=f"{MAX_UPLOAD_MB}mb",
                           mcp_server=mcp_server, prevent_thread_lock=True, **kwargs)
    server = getattr(demo, "mcp_server_obj", None)
    if server is not None:  # gradio makes every named endpoint a tool; keep the intended ones
        server.tool_to_endpoint = {tool: endpoint for tool, endpoint in server.tool_to_endpoint.items()
                                   if endpoint in MCP_ENDPOINTS}
    if not prevent_thread_lock:
        demo.block_thread()
    return launched


def main() -> None:
    parser = argparse.ArgumentParser(description="BioReason Space")
    parser.add_argument("--model", default=default_model(),
                        help="the model this Space serves (its remote code runs): a folder or a Hub id; default "
                             f"BIOREASON_MODEL, else {DEFAULT_MODEL} when it exists (after `bioreason quickstart`)")
    parser.add_argument("--revision", default=os.environ.get("BIOREASON_MODEL_REVISION"),
                        help="pin the model's Hub revision (a commit hash pins its remote code too)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args()
    model = check_model_setting(args.model)
    launch(build_demo(BioReasonDemo(model, args.revision)), args.host, args.port)


if __name__ == "__main__":
    main()
