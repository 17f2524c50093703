"""What the `evaluate` metric scripts in hub_cards/metrics share: the citation and the input features."""

from __future__ import annotations

BIOREASON_CITATION = """
@article{fallahpour2025bioreason,
  title={BioReason: Incentivizing Multimodal Biological Reasoning within a DNA-LLM Model},
  author={Fallahpour, Adibvafa and Magnuson, Andrew and Gupta, Purav and Ma, Shihao and Naimer, Jack and Shah, Arnav and Duan, Haonan and Ibrahim, Omar and Goodarzi, Hani and Maddison, Chris J. and Wang, Bo},
  journal={arXiv preprint arXiv:2505.23579},
  year={2025}
}
"""


def metric_info(description: str, inputs_description: str):
    """`evaluate.MetricInfo` for a metric scoring generated texts (`predictions`) against gold answers (`references`)."""
    import datasets
    import evaluate

    return evaluate.MetricInfo(
        description=description,
        citation=BIOREASON_CITATION,
        inputs_description=inputs_description,
        features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
        reference_urls=["https://arxiv.org/abs/2505.23579"],
    )
