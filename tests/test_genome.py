"""Variant windows from VCF + FASTA on the real GRCh38 chr22 slice, at hand-checked positions.

The slice's record `chr22` uses local coordinates. By hand: 1-based positions 1001-1009 read G A G T T C G A G,
positions 1-3 read A A G, and the last ten (299,991-300,000) read T T G A G G A G G C.
"""

from importlib.resources import files

import pytest

from modeling_bioreason.data.genome import Variant, parse_vcf_line, variant_windows, windows_from_vcf

FASTA = str(files("modeling_bioreason").joinpath("example_data", "hg38_chr22_32000000_32300000.fa"))


def _window(line, flank):
    [window] = variant_windows(FASTA, parse_vcf_line(line), flank)
    return window.reference_sequence, window.variant_sequence, window.variant_offset


def test_snv_deletion_insertion_windows():
    assert _window("chr22 1004 rs1 T C", 3) == ("GAGTTCG", "GAGCTCG", 3)
    assert _window("chr22\t1005\t.\tTCG\tT", 2) == ("GTTCGAG", "GTTAG", 2)
    assert _window("chr22 1004 . T TAA", (2, 1)) == ("AGTT", "AGTAAT", 2)


def test_chromosome_ends_are_padded_with_n_and_names_may_drop_chr():
    assert _window("22 2 . A G", 3) == ("NNAAGTT", "NNAGGTT", 3)
    windows = variant_windows(FASTA, parse_vcf_line("chr22 299999 . G A,T"), 3)
    assert [(w.reference_sequence, w.variant_sequence) for w in windows] == [("GAGGCNN", "GAGACNN"),
                                                                           ("GAGGCNN", "GAGTCNN")]


def test_default_window_is_bioreasons_2000_plus_allele_plus_2000():
    with open(FASTA) as handle:
        handle.readline()
        base = handle.read().replace("\n", "")[150000 - 1]
    alt = "A" if base != "A" else "C"
    [window] = variant_windows(FASTA, [Variant("chr22", 150000, base, alt)])
    assert len(window.reference_sequence) == len(window.variant_sequence) == 4001 and window.variant_offset == 2000
    assert window.reference_sequence[2000] == base and window.variant_sequence[2000] == alt
    assert window.reference_sequence[:2000] == window.variant_sequence[:2000]


def test_ref_mismatch_and_bad_records_name_the_variant(tmp_path):
    with pytest.raises(ValueError, match=r"chr22:1004 G>C \(rs9\): REF allele 'G' does not match .* has 'T'"):
        variant_windows(FASTA, parse_vcf_line("chr22 1004 rs9 G C"), 3)
    with pytest.raises(ValueError, match="Chromosome 'chr7' is not in the reference"):
        variant_windows(FASTA, parse_vcf_line("chr7 10 . A G"), 3)
    with pytest.raises(ValueError, match="not a sequence of A/C/G/T/N"):
        parse_vcf_line("chr22 1004 . T <DEL>")
    with pytest.raises(ValueError, match="at least CHROM POS ID REF ALT"):
        parse_vcf_line("chr22 1004 T")
    with pytest.raises(ValueError, match="position outside"):
        variant_windows(FASTA, [Variant("chr22", 300001, "A", "G")], 3)


def test_windows_from_a_vcf_file(tmp_path):
    vcf = tmp_path / "calls.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=chr22>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   "chr22\t1004\tv1\tT\tC\t.\t.\t.\nchr22\t1005\tv2\tTCG\tT\t.\t.\t.\n")
    windows = windows_from_vcf(vcf, FASTA, flank=2)
    assert [(w.variant.id, w.reference_sequence, w.variant_sequence) for w in windows] == [
        ("v1", "AGTTC", "AGCTC"), ("v2", "GTTCGAG", "GTTAG")]


def test_shipped_index_matches_its_fasta():
    from modeling_bioreason.data.genome import _plain_index_problem

    assert _plain_index_problem(FASTA, FASTA + ".fai") is None


def _two_contigs(path, first, second, width=10):
    lines = []
    for name, sequence in (("chr1", first), ("chr2", second)):
        lines.append(f">{name} test")
        lines += [sequence[i:i + width] for i in range(0, len(sequence), width)]
    path.write_text("\n".join(lines) + "\n")


def test_stale_index_of_a_replaced_fasta_is_rebuilt_never_used(tmp_path, caplog):
    """`cp -p` / `tar x` of another FASTA keeps an older timestamp than the index: the layout check catches it."""
    import os

    fasta = tmp_path / "ref.fa"
    _two_contigs(fasta, "ACGTACGTAC" * 5 + "GG", "TTTTTCCCCC" * 4)
    assert variant_windows(fasta, [Variant("chr2", 3, "T", "G")], 2)[0].reference_sequence == "TTTTT"
    assert (tmp_path / "ref.fa.fai").exists()
    old = os.path.getmtime(fasta) - 3600
    _two_contigs(fasta, "ACGTACGTAC" * 3, "GATTACAGAT" * 4)  # chr1 shorter: the old offsets of chr2 are wrong
    os.utime(fasta, (old, old))
    with caplog.at_level("WARNING"):
        [window] = variant_windows(fasta, [Variant("chr2", 3, "T", "G")], 2)
    assert window.reference_sequence == "GATTA" and window.variant_sequence == "GAGTA"
    assert "does not match the FASTA" in caplog.text


def test_bgzipped_fasta_gives_the_same_windows_and_plain_gzip_is_refused(tmp_path):
    import gzip
    import shutil

    import pysam

    bgzipped = tmp_path / "slice.fa.gz"
    pysam.tabix_compress(FASTA, str(bgzipped))
    plain = variant_windows(FASTA, parse_vcf_line("chr22 1004 . T C"), 50)
    assert variant_windows(bgzipped, parse_vcf_line("chr22 1004 . T C"), 50) == plain
    gzipped = tmp_path / "slice_gzip.fa.gz"
    with open(FASTA, "rb") as source, gzip.open(gzipped, "wb") as target:
        shutil.copyfileobj(source, target)
    with pytest.raises(ValueError, match="gzip-compressed but not with bgzip"):
        variant_windows(gzipped, parse_vcf_line("chr22 1004 . T C"), 5)


def _bgzip(path, text: bytes, block: int = 0xFF00):
    """`text` as BGZF (blocks of `block` uncompressed bytes, then the EOF marker), as bgzip writes it."""
    import struct
    import zlib

    with open(path, "wb") as handle:
        for start in range(0, len(text), block):
            data = text[start:start + block]
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = compressor.compress(data) + compressor.flush()
            handle.write(b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
                         + struct.pack("<H", len(payload) + 25) + payload
                         + struct.pack("<II", zlib.crc32(data), len(data)))
        handle.write(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))


def test_stale_index_of_a_replaced_bgzip_fasta_is_rebuilt_never_used(tmp_path, caplog):
    """A `.fa.gz` replaced (older timestamp) by one with another line layout, or with the same text in other
    blocks: its `.fai` / `.gzi` are checked against the file, and rebuilt."""
    import os

    import pysam

    fasta = tmp_path / "ref.fa"
    _two_contigs(fasta, "ACGTACGTAC" * 5 + "GG", "TTTTTCCCCC" * 4)
    bgzipped = tmp_path / "ref.fa.gz"
    pysam.tabix_compress(str(fasta), str(bgzipped))
    assert variant_windows(bgzipped, [Variant("chr2", 3, "T", "G")], 2)[0].reference_sequence == "TTTTT"
    assert (tmp_path / "ref.fa.gz.fai").exists() and (tmp_path / "ref.fa.gz.gzi").exists()
    old = os.path.getmtime(bgzipped) - 3600
    _two_contigs(fasta, "ACGTACGTAC" * 3, "GATTACAGAT" * 4, width=7)  # chr1 shorter, other line width
    pysam.tabix_compress(str(fasta), str(bgzipped), force=True)
    os.utime(bgzipped, (old, old))
    with caplog.at_level("WARNING"):
        [window] = variant_windows(bgzipped, [Variant("chr2", 3, "T", "G")], 2)
    assert (window.reference_sequence, window.variant_sequence) == ("GATTA", "GAGTA")
    assert "ref.fa.gz.fai does not match the FASTA" in caplog.text

    # Same text, other BGZF blocks: the .fai still fits, the .gzi (compressed offsets) does not.
    long_fasta = tmp_path / "long.fa"
    _two_contigs(long_fasta, "ACGTTGCA" * 9000, "GATTACAG" * 9000, width=60)
    target = tmp_path / "long.fa.gz"
    _bgzip(target, long_fasta.read_bytes())
    assert variant_windows(target, [Variant("chr2", 70001, "G", "C")], 3)[0].reference_sequence == "CAGGATT"
    old = os.path.getmtime(target) - 3600
    _bgzip(target, long_fasta.read_bytes(), block=20000)
    os.utime(target, (old, old))
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert variant_windows(target, [Variant("chr2", 70001, "G", "C")], 3)[0].reference_sequence == "CAGGATT"
    assert "lists other blocks than the file's" in caplog.text


def test_reference_call_and_multi_allelic_records(tmp_path):
    with pytest.raises(ValueError, match=r"ALT is '\.' \(no alternate allele"):
        parse_vcf_line("chr22 1004 . T .")
    assert [v.alt for v in parse_vcf_line("chr22 1004 . T C,G")] == ["C", "G"]  # expanded, one per ALT


def test_space_carries_an_identical_copy_of_the_window_builder():
    from pathlib import Path

    root = Path(__file__).parent.parent
    assert (root / "spaces_app" / "genome.py").read_bytes() == (
        root / "modeling_bioreason" / "data" / "genome.py").read_bytes(), \
        "spaces_app/genome.py must be a verbatim copy: cp modeling_bioreason/data/genome.py spaces_app/genome.py"


VCF_HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chr22>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@pytest.mark.parametrize("body, message", [
    ("chr22\tabc\t.\tT\tC\t.\t.\t.\n", r"line 4 \('chr22\\tabc.*POS 'abc' is not a positive integer"),
    ("chr22\t1004\tok\tT\tC\t.\t.\t.\nchr22\t-5\t.\tT\tC\t.\t.\t.\n", r"line 5 .*POS '-5' is not a positive integer"),
    ("chr22\t1004\t.\tT\n", r"line 4 .*it has 4 field\(s\); a VCF line needs at least CHROM POS ID REF ALT"),
    ("chr22 1004 . T C . . .\n", r"line 4 .*its fields are separated by spaces, not tabs"),
    ("chr22\t1004\t.\tX\tC\t.\t.\t.\n", r"chr22:1004 \(None\): REF 'X' is not a sequence of A/C/G/T/N"),
])
def test_malformed_vcf_lines_name_the_line_and_the_field(tmp_path, body, message):
    """htslib's bare `OSError: truncated file` becomes the line and what is wrong with it (issue 21, item 13)."""
    vcf = tmp_path / "calls.vcf"
    vcf.write_text(VCF_HEADER + body)
    with pytest.raises(ValueError, match=message):
        windows_from_vcf(vcf, FASTA, flank=2)


def test_unreadable_vcf_files_and_lines_are_named(tmp_path):
    import gzip

    gzipped = tmp_path / "calls.vcf.gz"
    with gzip.open(gzipped, "wt") as handle:
        handle.write(VCF_HEADER + "chr22\t1004\t.\tT\tC\t.\t.\t.\n")
    with pytest.raises(ValueError, match=r"calls\.vcf\.gz is gzip-compressed but not with bgzip.*bgzip > out\.vcf\.gz"):
        windows_from_vcf(gzipped, FASTA, flank=2)
    (tmp_path / "no_header.vcf").write_text("chr22\t1004\t.\tT\tC\n")
    with pytest.raises(ValueError, match=r"no_header\.vcf is not a readable VCF file"):
        windows_from_vcf(tmp_path / "no_header.vcf", FASTA, flank=2)
    with pytest.raises(ValueError, match=r"VCF file .*missing\.vcf does not exist"):
        windows_from_vcf(tmp_path / "missing.vcf", FASTA, flank=2)
    with pytest.raises(ValueError, match=r"VCF line 'chr 22 1004 \. T C': REF '\.' is not a sequence"):
        parse_vcf_line("chr 22 1004 . T C")  # a space in CHROM shifted every field: never read as pos 22
    with pytest.raises(ValueError, match=r"POS 'abc' is not a positive integer"):
        parse_vcf_line("chr22 abc . T C")
