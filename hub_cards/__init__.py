"""Hub card templates, installed as the `bioreason_hub_cards` package so the library can render them."""
