"""Variant windows from a VCF and a reference FASTA (BioReason's construction).

A window is `flank_left` bases before the variant, the allele, then `flank_right` bases after the reference allele;
the reference window carries REF and the variant window ALT (so indels change the variant window's length). Positions
past a chromosome end are padded with `N`. KEGG used 2,000 + allele + 2,000; the ClinVar windows use 512 + allele +
(511 for an SNV). FASTA access uses pyfaidx and VCF parsing pysam.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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


def read_vcf(path: str | os.PathLike) -> Iterator[Variant]:
    """Variants of a VCF file, one per ALT allele; symbolic or missing ALTs are an error naming the record."""
    import pysam

    with pysam.VariantFile(os.fspath(path)) as vcf:
        for record in vcf:
            for alt in record.alts or ():
                if not alt or alt.startswith("<") or set(alt.upper()) - BASES:
                    raise ValueError(
                        f"{record.chrom}:{record.pos} ({record.id}): ALT {alt!r} is not a sequence of A/C/G/T/N; "
                        "symbolic and breakend alleles are not supported."
                    )
                yield Variant(record.chrom, record.pos, record.ref.upper(), alt.upper(), record.id)


def parse_vcf_line(line: str) -> list[Variant]:
    """Variants of one VCF data line (`CHROM POS ID REF ALT ...`, tab- or space-separated), read with pysam."""
    fields = line.strip().split()
    if len(fields) < 5:
        raise ValueError(f"A VCF line needs at least CHROM POS ID REF ALT; got {line.strip()!r}.")
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


def _contig(fasta, chrom: str) -> str:
    for name in (chrom, chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"):
        if name in fasta.keys():
            return name
    raise ValueError(f"Chromosome {chrom!r} is not in the reference FASTA (it has {sorted(fasta.keys())[:10]}).")


def variant_windows(
    fasta_path: str | os.PathLike, variants: Iterable[Variant], flank: int | tuple[int, int] = 2000
) -> list[VariantWindow]:
    """
    Reference and variant windows around each variant.

    Args:
        fasta_path: reference FASTA (indexed with pyfaidx on first use).
        variants: from `read_vcf` / `parse_vcf_line` or built directly.
        flank: bases on each side, or `(left, right)`.

    Raises:
        ValueError: when a variant's REF does not match the reference (naming the variant and both alleles), or its
            chromosome is missing from the FASTA.
    """
    import pyfaidx

    left_flank, right_flank = (flank, flank) if isinstance(flank, int) else flank
    if left_flank < 0 or right_flank < 0:
        raise ValueError(f"flank sizes must be >= 0, got {flank}.")
    windows = []
    with pyfaidx.Fasta(os.fspath(fasta_path), sequence_always_upper=True, as_raw=True) as fasta:
        for variant in variants:
            contig = _contig(fasta, variant.chrom)
            length = len(fasta[contig])
            start, end = variant.pos - 1, variant.pos - 1 + len(variant.ref)
            if variant.pos < 1 or end > length:
                raise ValueError(f"{variant.name}: position outside {contig} (length {length}).")
            observed = fasta[contig][start:end]
            if observed != variant.ref.upper():
                raise ValueError(
                    f"{variant.name}: REF allele {variant.ref!r} does not match the reference FASTA, which has "
                    f"{observed!r} at {contig}:{variant.pos} (wrong genome build or coordinates?)."
                )
            left = "N" * max(0, left_flank - start) + fasta[contig][max(0, start - left_flank):start]
            right = fasta[contig][end:min(length, end + right_flank)]
            right += "N" * (right_flank - len(right))
            windows.append(VariantWindow(variant, left + observed + right, left + variant.alt.upper() + right, len(left)))
    return windows


def windows_from_vcf(
    vcf_path: str | os.PathLike, fasta_path: str | os.PathLike, flank: int | tuple[int, int] = 2000
) -> list[VariantWindow]:
    """`variant_windows` for every variant of a VCF file."""
    return variant_windows(fasta_path, read_vcf(vcf_path), flank)
