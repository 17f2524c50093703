"""The Gradio Space through its public door (gradio_client on loopback): named API, streamed reasoning and answer,
every bad input with its own message, caps that keep one visitor from stalling the others, cancelled requests that
really stop, and the Space running where `modeling_bioreason` cannot be imported."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from conftest import RUNNER_MECHANICS
from modeling_bioreason.hub import save_bioreason

app = pytest.importorskip("spaces_app.app")
ROOT = Path(__file__).parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def model_folder(tiny_of_kind, tmp_path_factory):
    return save_bioreason(*tiny_of_kind, tmp_path_factory.mktemp("space") / "model")


@pytest.fixture(scope="module")
def served(model_folder):
    patch = pytest.MonkeyPatch()
    patch.setattr(app, "MAX_NEW_TOKENS", 12)
    patch.setattr(app, "MAX_UPLOAD_MB", 1)
    demo_model = app.BioReasonDemo(str(model_folder))
    demo = app.build_demo(demo_model)
    app.launch(demo, port=_free_port(), prevent_thread_lock=True, quiet=True)
    yield demo, demo_model, Client(demo.local_url, verbose=False)
    demo.close()
    patch.undo()


@pytest.fixture()
def client(served):
    return served[2]


def _text(message) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(block.get("text", "") for block in content)


def _ask(client, **overrides):
    arguments = dict(source="Paste sequences", reference="ACGTACGTTTGACAGATTACA", variant="ACGTACGTTTGACAGGTTACA",
                     fasta_file=None, vcf_line="chr22 1004 . T C", vcf_fasta=None, flank=2000,
                     question="Which disease does this variant contribute to?", center_bp=0)
    arguments.update(overrides)
    return client.submit(*arguments.values(), api_name="/respond")


def test_api_has_only_named_endpoints_with_named_outputs(served, client):
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/respond", "/explain_variant"} and not api["unnamed_endpoints"]
    respond = api["named_endpoints"]["/respond"]
    assert [r["label"] for r in respond["returns"]] == ["Reasoning", "Answer"]
    required = [p["parameter_name"] for p in respond["parameters"] if not p["parameter_has_default"]]
    assert required == ["reference", "variant", "question"], required  # paste mode (the default) needs no file
    explain = api["named_endpoints"]["/explain_variant"]
    assert [p["parameter_name"] for p in explain["parameters"]] == ["reference", "variant", "question"]
    assert [r["label"] for r in explain["returns"]] == ["Explanation (reasoning, answer, finished, note)"]
    config = json.dumps(client.config)  # what the page is built from
    assert str(served[1].model_path) == "model (a local folder)" and str(ROOT) not in served[1].model_path
    assert "model (a local folder)" in config and str(Path(served[1].model_path)) not in ("", "model")


def test_question_in_streamed_reasoning_and_answer_out(client):
    job = _ask(client)
    chat, answer = job.result(timeout=120)
    assert chat[0]["role"] == "user" and "Which disease" in _text(chat[0])
    assert chat[-1]["role"] == "assistant"
    assert answer.startswith("### ")
    assert len(job.outputs()) >= 2  # streamed: several updates before the final one


def test_windows_up_to_the_models_dna_budget_are_answered_and_longer_ones_refused(served, client):
    """The cap is the model's DNA budget in its encoder's tokens (NT-v2: 6-mers after <cls>, 2,047 x 6 bp; Evo 2: one
    token per base, 2,048 bp): two windows of exactly that length are answered, one base more is refused, naming it."""
    demo_model = served[1]
    processor = demo_model.processor
    assert demo_model.max_bp == processor.max_dna_bases
    bases = ("ACGTTGCA" * (demo_model.max_bp // 8 + 1))[: demo_model.max_bp]
    ids = processor.dna_tokenizer(bases)["input_ids"]
    assert len(ids) <= demo_model.max_dna_tokens  # the whole window fits: nothing is cut
    chat, answer = _ask(client, reference=bases, variant=bases[:-1] + "C").result(timeout=120)
    assert f"reference {len(bases):,} bp" in _text(chat[0]) and answer.startswith("### ")
    with pytest.raises(Exception, match=f"The reference window has {len(bases) + 1:,} bp; this model accepts at most "
                                        f"{demo_model.max_bp:,} bp \\({demo_model.max_dna_tokens:,} DNA tokens\\)"):
        _ask(client, reference=bases + "A").result(timeout=60)


def test_explain_variant_endpoint_returns_reasoning_and_answer(client):
    result = client.predict("ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGGTTACA", "Which disease?",
                            api_name="/explain_variant")
    assert set(result) == {"reasoning", "answer", "finished", "note"}
    for arguments, name in [((5, "ACGT", "Which?"), "reference"), (("ACGT", ["A"], "Which?"), "variant"),
                            (("ACGT", "ACGT", {"text": "Which?"}), "question")]:  # raw JSON from API/MCP callers
        with pytest.raises(Exception, match=f"`{name}` must be a string; got "):
            client.predict(*arguments, api_name="/explain_variant")


def _mcp(url: str, tool: str | None = None, arguments: dict | None = None):
    """List the MCP server's tools (and call `tool`), as an MCP client does, over streamable HTTP."""
    import asyncio

    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def run():
        async with streamablehttp_client(url + "gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = {t.name: t for t in (await session.list_tools()).tools}
                called = await session.call_tool(tool, arguments) if tool else None
                return tools, called

    return asyncio.run(run())


@RUNNER_MECHANICS  # the Space's own input handling and serving: the same code for every encoder
def test_generation_cut_inside_the_reasoning_returns_it_partial_through_the_api_and_mcp(served, monkeypatch):
    """The MCP tool and /explain_variant: a completion that stops inside <think> keeps its reasoning and says so."""
    pytest.importorskip("mcp")
    demo, _, client = served
    pieces = ["<think>\nThe variant sits in ", "an exon of BRCA1"]  # then the budget ran out
    monkeypatch.setattr(app, "generate_stream", lambda inputs, budget: (piece for piece in pieces))
    result = client.predict("ACGTACGTTTGACAGATTACA", "ACGTACGTTTGACAGGTTACA", "Which disease?",
                            api_name="/explain_variant")
    assert result["reasoning"] == "The variant sits in an exon of BRCA1" and result["answer"] is None
    assert result["finished"] is False and "stopped inside the reasoning" in result["note"]
    tools, called = _mcp(demo.local_url, "explain_variant", {"reference": "ACGTACGTTTGACAGATTACA",
                                                            "variant": "ACGTACGTTTGACAGGTTACA", "question": "Which?"})
    assert set(tools) == {"explain_variant"}  # /respond (uploads, streaming) is not an MCP tool
    assert set(tools["explain_variant"].inputSchema["required"]) == {"reference", "variant", "question"}
    text = "".join(getattr(block, "text", "") for block in called.content)
    assert "The variant sits in an exon of BRCA1" in text and "stopped inside the reasoning" in text


@RUNNER_MECHANICS  # the Space's own input handling and serving: the same code for every encoder
@pytest.mark.parametrize("text, shown", [
    ("<think>\nit is in BRCA1\n</think>\n\nAnswer: breast cancer", "### Answer\n**breast cancer**"),
    ("<think>\nstill thinking", "### No answer\nGeneration stopped inside the reasoning"),
    ("breast cancer, probably", "### No answer\nThe model wrote no `Answer:` line"),
    ("</think>\nAnswer:", "### No answer\nThe model wrote `Answer:` with nothing after it."),
])
def test_a_missing_answer_is_said_not_replaced_by_the_raw_text(served, monkeypatch, text, shown):
    demo_model = served[1]
    monkeypatch.setattr(app, "generate_stream", lambda inputs, budget: (piece for piece in (text[:5], text[5:])))
    *_, (chat, answer) = demo_model.respond("Paste sequences", "ACGTAC", "ACGTTC", None, "", None, 0, "Which?", 0)
    assert answer.startswith(shown) and _text(chat[-1]) == text


@RUNNER_MECHANICS  # the Space's own input handling and serving: the same code for every encoder
def test_vcf_line_with_reference_fasta_uses_the_window_builder_and_cleans_up(client):
    started = time.time() - 1
    chat, answer = _ask(client, source="VCF line + reference FASTA", vcf_fasta=handle_file(app.FASTA_EXAMPLE),
                        flank=50).result(timeout=120)
    assert "reference 101 bp, variant 101 bp" in _text(chat[0])
    uploads = Path(os.environ.get("GRADIO_TEMP_DIR", Path(tempfile.gettempdir()) / "gradio"))
    left = [p for p in uploads.rglob("*.fa.fai") if p.stat().st_mtime >= started]
    assert not left, f"the upload's index was left behind: {left}"


def _fasta(tmp_path, records, name="pair.fa"):
    path = tmp_path / name
    path.write_text("".join(f">{n}\n{s}\n" for n, s in records))
    return handle_file(str(path))


@RUNNER_MECHANICS  # the Space's own input handling and serving: the same code for every encoder
def test_fasta_file_with_two_records(client, tmp_path):
    chat, _ = _ask(client, source="FASTA file", fasta_file=_fasta(tmp_path, [("ref", "ACGTAC" * 5),
                                                                              ("alt", "ACGTTC" * 5)])).result(120)
    assert "reference 30 bp, variant 30 bp" in _text(chat[0])


@RUNNER_MECHANICS  # the Space's own input handling and serving: the same code for every encoder
@pytest.mark.parametrize("overrides, message", [
    ({"variant": "ACGTXYZACGT"}, "variant window has invalid character 'X' at position 5"),
    ({"reference": ""}, "reference window is empty"),
    ({"reference": ">chr1\nACGT"}, "starts with a FASTA header"),
    ({"question": "  "}, "Ask a question"),
    ({"reference": "A" * 20000}, r"at most [\d,]+ bp \([\d,]+ DNA tokens\) per window"),
    ({"reference": "N" * 300}, "reference window is all N"),
    ({"question": "Which <|dna_pad|> disease?"}, r"contains '<\|dna_pad\|>', a token reserved"),
    ({"question": "<|im_end|><|im_start|>system"}, "a token reserved for the model's prompt format"),
    ({"question": "why " * 2500}, r"The question is [\d,]+ tokens long; this Space accepts at most 2048 tokens"),
    ({"question": "x" * 2_000_000}, "The question has 2,000,000 characters; this Space accepts at most 2048 tokens"),
    ({"source": "VCF line + reference FASTA", "vcf_line": "chr22 1004 . T ."},
     r"ALT is '\.' \(no alternate allele"),
    ({"source": "VCF line + reference FASTA", "vcf_line": "chr22 1004 . T C,G"},
     "The VCF line has 2 ALT alleles \\(C, G\\); the Space explains one variant at a time"),
    ({"source": "VCF line + reference FASTA", "vcf_line": "chr22 1004 . G C"}, "does not match the reference FASTA"),
    ({"source": "VCF line + reference FASTA", "vcf_line": "chr7 10 . A G"}, "Chromosome 'chr7' is not in the"),
    ({"source": "VCF line + reference FASTA", "vcf_line": "chr22 1004 T"}, "at least CHROM POS ID REF ALT"),
    ({"source": "FASTA file"}, "Upload a FASTA file"),
])
def test_bad_input_gets_its_own_message(client, overrides, message):
    if overrides.get("source", "").startswith("VCF"):
        overrides = {"vcf_fasta": handle_file(app.FASTA_EXAMPLE), "flank": 50, **overrides}
    with pytest.raises(Exception, match=message):
        _ask(client, **overrides).result(timeout=60)


@RUNNER_MECHANICS  # the Space's own input handling and serving: the same code for every encoder
def test_fasta_file_with_one_record_and_the_prompt_cap(served, client, tmp_path, monkeypatch):
    with pytest.raises(Exception, match="exactly two records .* it has 1"):
        _ask(client, source="FASTA file", fasta_file=_fasta(tmp_path, [("ref", "ACGT")])).result(timeout=60)
    monkeypatch.setattr(served[1], "max_prompt_tokens", 20)
    with pytest.raises(Exception, match=r"The prompt is [\d,]+ tokens \(question and both windows\); this Space "
                                        r"accepts at most 20"):
        _ask(client).result(timeout=60)


@RUNNER_MECHANICS  # the Space's own input handling and serving: the same code for every encoder
def test_oversized_upload_is_refused_before_it_is_read(client, tmp_path):
    big = tmp_path / "big.fa"
    with open(big, "w") as handle:
        handle.write(">ref\n" + ("ACGT" * 20 + "\n") * 20000)  # 1.6 MB, over the 1 MB cap of this server
    started = time.monotonic()
    with pytest.raises(Exception, match="(?i)file.*(large|size)|exceeds"):
        _ask(client, source="FASTA file", fasta_file=handle_file(str(big))).result(timeout=60)
    assert time.monotonic() - started < 30


def _generation_threads() -> int:
    return sum(thread.name == app.GENERATION_THREAD and thread.is_alive() for thread in threading.enumerate())


@RUNNER_MECHANICS  # the Space's own input handling and serving: the same code for every encoder
def test_cancelled_requests_stop_generating_and_the_next_is_served_in_normal_time(client, monkeypatch):
    started = time.monotonic()
    _ask(client).result(timeout=120)
    normal = time.monotonic() - started
    monkeypatch.setattr(app, "MAX_NEW_TOKENS", 100_000)  # would run for many minutes if nothing stopped it
    for _ in range(3):
        job = _ask(client)
        deadline = time.monotonic() + 60
        while len(job.outputs()) < 2 and time.monotonic() < deadline:  # generating and streaming
            time.sleep(0.05)
        assert _generation_threads() == 1 and not job.done()
        job.cancel()
        deadline = time.monotonic() + 20
        while _generation_threads() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _generation_threads() == 0, "a cancelled request kept generating"
    monkeypatch.setattr(app, "MAX_NEW_TOKENS", 12)
    started = time.monotonic()
    chat, answer = _ask(client).result(timeout=120)
    assert answer.startswith("### ") and time.monotonic() - started < 5 * normal + 5


def test_space_examples_are_the_package_rows():
    from modeling_bioreason.example import load_example_rows

    rows = json.loads((ROOT / "spaces_app" / "examples" / "examples.json").read_text())
    kegg, clinvar = load_example_rows("kegg")[:3], load_example_rows("clinvar")[:2]
    assert [(r["reference"], r["variant"], r["question"]) for r in rows[:3]] == [
        (r["reference_sequence"], r["variant_sequence"], r["question"]) for r in kegg]
    assert [(r["reference"], r["variant"]) for r in rows[3:]] == [(r["ref"], r["alt"]) for r in clinvar]
    example_fasta = ROOT / "modeling_bioreason" / "example_data" / "hg38_chr22_32000000_32300000.fa"
    assert Path(app.FASTA_EXAMPLE).read_bytes() == example_fasta.read_bytes()


# A `python app.py` in which `modeling_bioreason` cannot be imported, as on a Space that installed only requirements.txt.
SEALED = r"""
import importlib.abc, runpy, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("modeling_bioreason", "bioreason_hub_cards"):
            raise ImportError(f"{name} is not installed on the Space")

sys.meta_path.insert(0, Blocker())
app_file = sys.argv[1]
sys.path.insert(0, app_file.rsplit("/", 1)[0])
sys.argv = [app_file] + sys.argv[2:]
runpy.run_path(app_file, run_name="__main__")
"""


@RUNNER_MECHANICS  # the Space's own input handling and serving: the same code for every encoder
def test_space_runs_and_answers_where_the_package_cannot_be_imported(model_folder, tmp_path):
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", BIOREASON_MAX_NEW_TOKENS="8", OMP_NUM_THREADS="1", GRADIO_ANALYTICS_ENABLED="False",
               HF_MODULES_CACHE=str(tmp_path / "modules"))
    log = open(tmp_path / "space.log", "w+")
    process = subprocess.Popen([sys.executable, "-c", SEALED, str(ROOT / "spaces_app" / "app.py"), "--model",
                                str(model_folder), "--port", str(port)], cwd=tmp_path, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        url, deadline = f"http://127.0.0.1:{port}/", time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                log.seek(0)
                assert process.poll() is None and time.monotonic() < deadline, log.read()[-3000:]
                time.sleep(0.5)
        client = Client(url, verbose=False)
        chat, answer = _ask(client).result(timeout=120)
        assert "Which disease" in _text(chat[0]) and answer.startswith("### ")
        with pytest.raises(Exception, match="reference window is all N"):
            _ask(client, reference="N" * 30).result(timeout=60)
        schema = json.loads(urllib.request.urlopen(url + "gradio_api/mcp/schema", timeout=10).read())
        tools = {tool["name"]: tool for tool in schema}
        assert set(tools) == {"explain_variant"} and "DNA variant" in tools["explain_variant"]["description"]
        page = urllib.request.urlopen(url + "config", timeout=10).read().decode()
        assert str(model_folder) not in page and "model (a local folder)" in page  # no machine path on the page
    finally:
        process.terminate()
        process.wait(timeout=30)
    log.seek(0)
    output = log.read()
    assert "is not installed on the Space" not in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]  # a refused input is the visitor's message, not a crash


def test_a_pushed_space_without_its_model_setting_says_which_setting_to_set(tmp_path):
    """The Space as the Hub boots it: `python app.py` in its own folder, without this package, and here without
    BIOREASON_MODEL (no local folders on a Space): it stops at once, naming the setting."""
    space = shutil.copytree(ROOT / "spaces_app", tmp_path / "space", ignore=shutil.ignore_patterns("__pycache__"))
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "BIOREASON_MODEL")}
    env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", GRADIO_ANALYTICS_ENABLED="False")
    booted = subprocess.run([sys.executable, "-c", SEALED, str(space / "app.py")], cwd=space, env=env,
                            capture_output=True, text=True, timeout=300)
    assert booted.returncode != 0 and "Traceback" not in booted.stderr, booted.stderr[-3000:]
    assert "set the Space variable BIOREASON_MODEL to a model repo id" in booted.stderr
    with pytest.raises(SystemExit, match=r"BIOREASON_MODEL='runs/quickstart/sft/final' is neither a folder here"):
        app.check_model_setting("runs/quickstart/sft/final")
    assert app.check_model_setting("me/bioreason") == "me/bioreason"


def _bgzipped(tmp_path, bases: int, name: str) -> str:
    import pysam

    plain = tmp_path / f"{name}.fa"
    with open(plain, "w") as handle:
        handle.write(">chr22\n")
        for _ in range(bases // 60):
            handle.write("ACGTTGCA" * 7 + "ACGT\n")
    pysam.tabix_compress(str(plain), str(plain) + ".gz", force=True)
    return str(plain) + ".gz"


@RUNNER_MECHANICS  # the Space's own input handling and serving: the same code for every encoder
def test_reference_fasta_is_indexed_on_upload_outside_the_generation_slot(served, client, tmp_path, monkeypatch):
    """Issue 21 item 12: indexing happens in its own queue while a generation holds the one slot; the request that
    uses the file reads the index built on upload; a bgzip that decompresses past the cap is refused from its block
    headers alone, naming the numbers."""
    demo_model = served[1]
    fasta = _bgzipped(tmp_path, 120_000, "slot")
    monkeypatch.setattr(app, "MAX_NEW_TOKENS", 100_000)  # a generation that holds the slot until cancelled
    job = _ask(client)
    deadline = time.monotonic() + 60
    while len(job.outputs()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _generation_threads() == 1
    client.predict(handle_file(fasta), api_name="/index_fasta")  # served while the slot is busy
    assert not job.done() and _generation_threads() == 1
    job.cancel()
    monkeypatch.setattr(app, "MAX_NEW_TOKENS", 12)
    [folder] = [f for key, f in demo_model.fasta_indexes.entries.items() if key[0].endswith("slot.fa.gz")]
    index_time = os.path.getmtime(Path(folder) / "slot.fa.gz.fai")
    chat, _ = _ask(client, source="VCF line + reference FASTA", vcf_fasta=handle_file(fasta), vcf_line="chr22 3 . G A",
                   flank=10).result(timeout=120)
    assert "reference 21 bp, variant 21 bp" in _text(chat[0])
    assert os.path.getmtime(Path(folder) / "slot.fa.gz.fai") == index_time  # not rebuilt inside the slot

    monkeypatch.setattr(app, "MAX_FASTA_MB", 1)
    bomb = _bgzipped(tmp_path, 2_000_000, "bomb")  # ~2 MB of sequence in a small bgzip
    started = time.monotonic()
    for call in (lambda: client.predict(handle_file(bomb), api_name="/index_fasta"),
                 lambda: _ask(client, source="VCF line + reference FASTA", vcf_fasta=handle_file(bomb),
                              flank=10).result(timeout=60)):
        with pytest.raises(Exception, match=r"bomb\.fa\.gz decompresses to more than [\d,]+ bytes; this Space indexes "
                                            r"at most 1 MB of sequence"):
            call()
    assert time.monotonic() - started < 20
    assert not [key for key in demo_model.fasta_indexes.entries if key[0].endswith("bomb.fa.gz")]
