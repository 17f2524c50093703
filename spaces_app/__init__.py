"""The BioReason Gradio Space (run `python spaces_app/app.py`)."""
