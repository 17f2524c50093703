"""Variant windows from a VCF and a reference FASTA (BioReason's construction).

A window is `flank_left` bases before the variant, the allele, then `flank_right` bases after the reference allele;
the reference window carries REF and the variant window ALT (so indels change the variant window's length). Positions
past a chromosome end are padded with `N`. KEGG used 2,000 + allele + 2,000; the ClinVar windows use 512 + allele +
(511 for an SNV). VCF parsing and FASTA access use pysam (htslib): plain and bgzip-compressed FASTA both work.

A FASTA index (`.fai`, and `.gzi` for bgzip) is built on first use. An existing index is checked before it is trusted:
an index older than its FASTA, or one whose records do not match the file's layout byte for byte (a FASTA replaced
by `cp -p` or `tar x` keeps an old timestamp), is rebuilt with a warning, never used for windows. For bgzip the
`.gzi` must list the file's own blocks, and the `.fai` is checked against the decompressed bytes around its records.

This file imports only the standard library and pysam, so the Space carries a verbatim copy (`spaces_app/genome.py`;
a test keeps the two identical).
"""

from __future__ import annotations

import bisect
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

logger = logging.getLogger(__name__)

BASES = set("ACGTN")


@dataclass(frozen=True)
class Variant:
    chrom: str
    pos: int  # 1-based, as in VCF
    ref: str
    alt: str
    id: str | None = None

    @property
    def name(self) -> str:
        return f"{self.chrom}:{self.pos} {self.ref}>{self.alt}" + (f" ({self.id})" if self.id else "")


@dataclass(frozen=True)
class VariantWindow:
    variant: Variant
    reference_sequence: str
    variant_sequence: str
    variant_offset: int  # 0-based index of the allele in both windows


def _pysam():
    try:
        import pysam
    except ImportError as error:  # pragma: no cover - pysam is a declared dependency
        raise ImportError("Reading VCF and FASTA files needs pysam: pip install pysam") from error
    return pysam


def _vcf_line_problem(fields: list[str]) -> str | None:
    """What is wrong with one VCF data line's fields (`CHROM POS ID REF ALT ...`), or None."""
    if len(fields) < 5:
        return f"it has {len(fields)} field(s); a VCF line needs at least CHROM POS ID REF ALT"
    chrom, pos, _, ref, _ = fields[:5]
    if not chrom or any(not char.isprintable() for char in chrom):
        return f"CHROM {chrom!r} is not a chromosome name"
    if not pos.isdigit() or int(pos) < 1:
        return f"POS {pos!r} is not a positive integer (1-based position)"
    if not ref or set(ref.upper()) - BASES:
        return f"REF {ref!r} is not a sequence of A/C/G/T/N"
    return None


def _vcf_data_line(path: str, number: int) -> tuple[int, str] | None:
    """(line number, text) of the `number`-th (0-based) data line of a plain or bgzip VCF, or None."""
    import gzip

    opener = gzip.open if _compression(path) != "plain" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        seen = -1
        for line_number, line in enumerate(handle, start=1):
            if line.startswith("#") or not line.strip():
                continue
            seen += 1
            if seen == number:
                return line_number, line.rstrip("\n")
    return None


def read_vcf(path: str | os.PathLike) -> Iterator[Variant]:
    """
    Variants of a VCF file, one per ALT allele: a multi-allelic record `A -> C,G` yields two variants.

    Symbolic or breakend ALTs, records without an ALT (`.`, a reference call) and REF alleles that are not bases are
    errors naming the record; so are lines htslib cannot parse (naming the line), a file that is not VCF, and gzip
    that is not bgzip.
    """
    pysam = _pysam()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"VCF file {path} does not exist.")
    if _compression(path) == "gzip":
        raise ValueError(f"{path} is gzip-compressed but not with bgzip, which htslib reads VCF from: recompress it "
                         "(`gunzip -c in.vcf.gz | bgzip > out.vcf.gz`) or decompress it.")
    try:
        vcf = pysam.VariantFile(path)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a readable VCF file ({error}); it needs a `##fileformat=VCF...` header and "
                         "a `#CHROM POS ID REF ALT ...` line.") from None
    with vcf:
        records = iter(vcf)
        number = 0
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except (OSError, ValueError) as error:  # htslib's "truncated file" for a line it cannot parse
                found = _vcf_data_line(path, number)
                if found is None:
                    raise ValueError(f"{path}: could not read the VCF after {number} record(s): {error}.") from None
                line_number, line = found
                problem = _vcf_line_problem(line.split("\t")) or f"htslib cannot parse it ({error})"
                if "\t" not in line and len(line.split()) >= 5:
                    problem = "its fields are separated by spaces, not tabs"
                raise ValueError(f"{path} line {line_number} ({line[:80]!r}): {problem}. VCF data lines are "
                                 "tab-separated CHROM POS ID REF ALT QUAL FILTER INFO.") from None
            number += 1
            if set(record.ref.upper()) - BASES:
                raise ValueError(f"{record.chrom}:{record.pos} ({record.id}): REF {record.ref!r} is not a sequence of "
                                 "A/C/G/T/N.")
            if not record.alts:
                raise ValueError(
                    f"{record.chrom}:{record.pos} ({record.id}): ALT is '.' (no alternate allele: a reference call), "
                    "so there is no variant to build a window for."
                )
            for alt in record.alts:
                if not alt or alt.startswith("<") or set(alt.upper()) - BASES:
                    raise ValueError(
                        f"{record.chrom}:{record.pos} ({record.id}): ALT {alt!r} is not a sequence of A/C/G/T/N; "
                        "symbolic and breakend alleles are not supported."
                    )
                yield Variant(record.chrom, record.pos, record.ref.upper(), alt.upper(), record.id)


def parse_vcf_line(line: str) -> list[Variant]:
    """
    Variants of one VCF data line (`CHROM POS ID REF ALT ...`, tab- or space-separated), read with pysam: one per ALT
    allele (a multi-allelic line gives several).
    """
    fields = line.strip().split()
    if len(fields) < 5:
        raise ValueError(f"A VCF line needs at least CHROM POS ID REF ALT; got {line.strip()!r}.")
    problem = _vcf_line_problem(fields)
    if problem:
        raise ValueError(f"VCF line {line.strip()[:80]!r}: {problem}.")
    fields += ["."] * (8 - len(fields))
    header = f"##fileformat=VCFv4.2\n##contig=<ID={fields[0]}>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    with tempfile.NamedTemporaryFile("w", suffix=".vcf", delete=False) as handle:
        handle.write(header + "\t".join(fields[:8]) + "\n")
    try:
        return list(read_vcf(handle.name))
    except (OSError, ValueError) as error:
        raise ValueError(f"Could not read VCF line {line.strip()!r}: {error}") from error
    finally:
        os.unlink(handle.name)


# ------------------------------------------------------------------------------------------------- FASTA and index
def _compression(path: str) -> str:
    """'plain', 'bgzip' or 'gzip' (gzip without bgzip's blocks, which random access cannot read)."""
    with open(path, "rb") as handle:
        head = handle.read(18)
    if head[:2] != b"\x1f\x8b":
        return "plain"
    # BGZF: a gzip member with the FEXTRA flag and a 'BC' extra subfield.
    return "bgzip" if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC" else "gzip"


def _index_problem(index: str, size: int, read) -> str | None:
    """Why a `.fai` does not describe the (uncompressed) FASTA read by `read(offset, n)` byte for byte, None when it
    does; reads only around record bounds."""
    try:
        with open(index, encoding="ascii") as handle:
            rows = [line.rstrip("\n").split("\t") for line in handle if line.strip()]
        entries = [(name, int(length), int(offset), int(bases), int(width)) for name, length, offset, bases, width, *_
                   in rows]
    except (ValueError, UnicodeDecodeError):
        return "the index does not parse"
    if not entries:
        return "the index is empty"
    previous_end = 0
    for name, length, offset, bases, width in entries:
        if offset > size or bases <= 0 or width < bases or not 0 < offset - previous_end <= 65536:
            return f"record {name!r} lies outside the file or not after the previous record"
        # The bytes between the previous record's end and this one must be exactly its header line.
        between = read(previous_end, offset - previous_end)
        if not between.endswith(b"\n") or not between.lstrip(b"\r\n").startswith(b">"):
            return f"record {name!r} does not start after a header line"
        header = between.lstrip(b"\r\n")[1:].rstrip(b"\r\n").decode("utf-8", "replace")
        if header.split()[0:1] != [name] or b"\n" in between.lstrip(b"\r\n").rstrip(b"\r\n"):
            return f"the header before {name!r} reads {header[:40]!r}"
        full_lines, rest = divmod(length, bases)
        end = offset + full_lines * width + rest
        if rest == 0 and full_lines:
            end -= width - bases  # the last full line's newline belongs to what follows
        tail = read(max(offset, end - 1), 2)
        if length and (tail[:1] in (b"\n", b"\r", b">", b"") or tail[1:2] not in (b"\n", b"\r", b"")):
            return f"record {name!r} does not end where the index says ({length:,} bp)"
        previous_end = end
    if read(previous_end, 4096).strip():
        return "the file has data after the last indexed record"
    return None


def _plain_index_problem(fasta: str, index: str) -> str | None:
    """Why `index` does not describe the plain FASTA `fasta` byte for byte (None when it does)."""
    with open(fasta, "rb") as handle:
        def read(offset: int, count: int) -> bytes:
            handle.seek(offset)
            return handle.read(count)

        return _index_problem(index, os.path.getsize(fasta), read)


def _bgzf_blocks(path: str) -> tuple[list[tuple[int, int, int]], int] | str:
    """
    Every BGZF block of `path` as (compressed offset, uncompressed offset, compressed size) and the uncompressed
    size, read from the block headers alone (two small reads per block of up to 64 kB, no decompression); or why
    the file is not well-formed BGZF.
    """
    blocks, compressed, uncompressed = [], 0, 0
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        while compressed < size:
            handle.seek(compressed)
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"\x1f\x8b\x08\x04":
                return f"no BGZF block header at byte {compressed:,}"
            extra = handle.read(int.from_bytes(head[10:12], "little"))
            block_size, position = None, 0
            while position + 4 <= len(extra):  # the extra field's subfields; BGZF's is BC, 2 bytes: size - 1
                length = int.from_bytes(extra[position + 2:position + 4], "little")
                if extra[position:position + 2] == b"BC" and length == 2:
                    block_size = int.from_bytes(extra[position + 4:position + 6], "little") + 1
                position += 4 + length
            if block_size is None or compressed + block_size > size:
                return f"the BGZF block at byte {compressed:,} is malformed or cut short"
            handle.seek(compressed + block_size - 4)
            blocks.append((compressed, uncompressed, block_size))
            compressed += block_size
            uncompressed += int.from_bytes(handle.read(4), "little")
    return blocks, uncompressed


def _gzi_problem(gzi: str, blocks: list[tuple[int, int, int]], size: int) -> str | None:
    """Why a `.gzi` does not list the blocks of its bgzip file (htslib lists each block holding data but the first,
    by compressed and uncompressed offset), None when it does."""
    with open(gzi, "rb") as handle:
        raw = handle.read()
    if len(raw) < 8 or len(raw) != 8 + 16 * int.from_bytes(raw[:8], "little"):
        return "the .gzi does not parse"
    listed = [(int.from_bytes(raw[i:i + 8], "little"), int.from_bytes(raw[i + 8:i + 16], "little"))
              for i in range(8, len(raw), 16)]
    ends = [u for _, u, _ in blocks[1:]] + [size]
    holding_data = [(c, u) for (c, u, _), end in zip(blocks, ends) if end > u]  # not the empty EOF marker
    if listed != holding_data[1:]:
        return "the .gzi lists other blocks than the file's"
    return None


def _bgzip_index_problem(fasta: str, index: str) -> str | None:
    """Why the `.gzi` and `.fai` of a bgzip FASTA do not describe it (None when they do): the `.gzi` is checked
    against the file's blocks, the `.fai` against the decompressed bytes around record bounds (as for plain FASTA)."""
    import zlib

    walked = _bgzf_blocks(fasta)
    if isinstance(walked, str):
        return walked
    blocks, size = walked
    problem = _gzi_problem(fasta + ".gzi", blocks, size)
    if problem:
        return problem
    starts = [u for _, u, _ in blocks]
    cache: dict[int, bytes] = {}
    with open(fasta, "rb") as handle:
        def block(k: int) -> bytes:
            if k not in cache:
                offset, _, length = blocks[k]
                handle.seek(offset)
                data = handle.read(length)
                cache.clear()
                cache[k] = zlib.decompress(data[12 + int.from_bytes(data[10:12], "little"):-8], -15)
            return cache[k]

        def read(offset: int, count: int) -> bytes:
            out = b""
            k = max(0, bisect.bisect_right(starts, offset) - 1)
            while count > 0 and k < len(blocks):
                data = block(k)[offset - blocks[k][1]:][:count]
                out, offset, count, k = out + data, offset + len(data), count - len(data), k + 1
            return out

        try:
            return _index_problem(index, size, read)
        except zlib.error as error:
            return f"a BGZF block does not decompress ({error})"


def _fresh_index(fasta: str, compression: str) -> None:
    """Remove a stale or mismatched index so that htslib rebuilds it; raise when it cannot be removed."""
    index = fasta + ".fai"
    stale = []
    for path in (index, fasta + ".gzi") if compression == "bgzip" else (index,):
        if os.path.exists(path) and os.path.getmtime(path) < os.path.getmtime(fasta):
            stale.append(f"{os.path.basename(path)} is older than the FASTA")
    if compression == "bgzip" and os.path.exists(index) != os.path.exists(fasta + ".gzi"):
        stale.append("only one of its .fai and .gzi exists")  # htslib builds both together
    if os.path.exists(index) and not stale:
        check = _plain_index_problem if compression == "plain" else _bgzip_index_problem
        problem = check(fasta, index)
        if problem:
            stale.append(f"{os.path.basename(index)} does not match the FASTA ({problem})")
    if not stale:
        return
    try:
        for path in (index, fasta + ".gzi"):
            if os.path.exists(path):
                os.remove(path)
    except OSError as error:
        raise ValueError(f"The index of {fasta} is stale ({'; '.join(stale)}) and could not be removed ({error}); "
                         "delete it or rebuild it with `samtools faidx`.") from error
    logger.warning("Rebuilding the index of %s: %s.", fasta, "; ".join(stale))


def open_fasta(fasta_path: str | os.PathLike):
    """
    A `pysam.FastaFile` for a plain or bgzip-compressed FASTA, with its index checked (stale ones rebuilt).

    Raises:
        ValueError: for a missing file, gzip that is not bgzip, or an index that is stale and cannot be rebuilt.
    """
    fasta = os.fspath(fasta_path)
    if not os.path.isfile(fasta):
        raise ValueError(f"Reference FASTA {fasta} does not exist.")
    compression = _compression(fasta)
    if compression == "gzip":
        raise ValueError(f"{fasta} is gzip-compressed but not with bgzip, which random access needs: recompress it "
                         "(`gunzip -c in.fa.gz | bgzip > out.fa.gz`) or decompress it.")
    _fresh_index(fasta, compression)
    try:
        return _pysam().FastaFile(fasta)
    except (OSError, ValueError) as error:
        raise ValueError(f"Could not open the reference FASTA {fasta}: {error}") from error


def _contig(fasta, chrom: str) -> str:
    for name in (chrom, chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"):
        if name in fasta.references:
            return name
    raise ValueError(f"Chromosome {chrom!r} is not in the reference FASTA (it has {sorted(fasta.references)[:10]}).")


def variant_windows(
    fasta_path: str | os.PathLike, variants: Iterable[Variant], flank: int | tuple[int, int] = 2000
) -> list[VariantWindow]:
    """
    Reference and variant windows around each variant.

    Args:
        fasta_path: reference FASTA, plain or bgzip-compressed (indexed on first use; a stale index is rebuilt).
        variants: from `read_vcf` / `parse_vcf_line` or built directly.
        flank: bases on each side, or `(left, right)`.

    Raises:
        ValueError: when a variant's REF does not match the reference (naming the variant and both alleles), or its
            chromosome is missing from the FASTA.
    """
    left_flank, right_flank = (flank, flank) if isinstance(flank, int) else flank
    if left_flank < 0 or right_flank < 0:
        raise ValueError(f"flank sizes must be >= 0, got {flank}.")
    windows = []
    with open_fasta(fasta_path) as fasta:
        lengths = dict(zip(fasta.references, fasta.lengths))

        def fetch(contig: str, start: int, end: int) -> str:
            return fasta.fetch(contig, start, end).upper() if end > start else ""

        for variant in variants:
            contig = _contig(fasta, variant.chrom)
            length = lengths[contig]
            start, end = variant.pos - 1, variant.pos - 1 + len(variant.ref)
            if variant.pos < 1 or end > length:
                raise ValueError(f"{variant.name}: position outside {contig} (length {length}).")
            observed = fetch(contig, start, end)
            if observed != variant.ref.upper():
                raise ValueError(
                    f"{variant.name}: REF allele {variant.ref!r} does not match the reference FASTA, which has "
                    f"{observed!r} at {contig}:{variant.pos} (wrong genome build or coordinates?)."
                )
            left = "N" * max(0, left_flank - start) + fetch(contig, max(0, start - left_flank), start)
            right = fetch(contig, end, min(length, end + right_flank))
            right += "N" * (right_flank - len(right))
            windows.append(VariantWindow(variant, left + observed + right, left + variant.alt.upper() + right, len(left)))
    return windows


def windows_from_vcf(
    vcf_path: str | os.PathLike, fasta_path: str | os.PathLike, flank: int | tuple[int, int] = 2000
) -> list[VariantWindow]:
    """`variant_windows` for every variant of a VCF file (one per ALT allele)."""
    return variant_windows(fasta_path, read_vcf(vcf_path), flank)
