"""The Gradio Space, driven through gradio_client on loopback: streamed reasoning and answer, clear errors."""

import socket

import pytest
from gradio_client import Client

from modeling_bioreason.hub import save_bioreason

app = pytest.importorskip("spaces_app.app")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def client(tiny, tmp_path_factory):
    folder = save_bioreason(*tiny, tmp_path_factory.mktemp("space") / "model")
    app.MAX_NEW_TOKENS = 12
    demo = app.build_demo(app.BioReasonDemo(str(folder)))
    demo.launch(server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True)
    yield Client(demo.local_url, verbose=False)
    demo.close()


def _text(message) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(block.get("text", "") for block in content)


def _ask(client, **overrides):
    arguments = dict(source="Paste sequences", reference="ACGTACGTTTGACAGATTACA", variant="ACGTACGTTTGACAGGTTACA",
                     fasta_file=None, vcf_line="chr22 1004 . T C", vcf_fasta=None, flank=2000,
                     question="Which disease does this variant contribute to?", center_bp=0)
    arguments.update(overrides)
    return client.submit(*arguments.values(), api_name="/respond")


def test_question_in_streamed_reasoning_and_answer_out(client):
    job = _ask(client)
    chat, answer = job.result(timeout=120)
    assert chat[0]["role"] == "user" and "Which disease" in _text(chat[0])
    assert chat[-1]["role"] == "assistant"
    assert answer.startswith("### Answer")
    assert len(job.outputs()) >= 2  # streamed: several updates before the final one


def test_vcf_line_with_reference_fasta_uses_the_window_builder(client):
    from gradio_client import handle_file

    chat, answer = _ask(client, source="VCF line + reference FASTA", vcf_fasta=handle_file(app.FASTA_EXAMPLE),
                        flank=50).result(timeout=120)
    assert "reference 101 bp, variant 101 bp" in _text(chat[0])


@pytest.mark.parametrize("overrides, message", [
    ({"variant": "ACGTXYZACGT"}, "invalid character 'X'"),
    ({"reference": ""}, "reference sequence is empty"),
    ({"question": "  "}, "Ask a question"),
    ({"reference": "A" * 20000}, "at most"),
])
def test_bad_input_gets_a_clear_message(client, overrides, message):
    with pytest.raises(Exception, match=message):
        _ask(client, **overrides).result(timeout=60)


def test_mismatched_allele_is_reported(client):
    from gradio_client import handle_file

    with pytest.raises(Exception, match="does not match the reference FASTA"):
        _ask(client, source="VCF line + reference FASTA", vcf_line="chr22 1004 . G C",
             vcf_fasta=handle_file(app.FASTA_EXAMPLE)).result(timeout=60)
