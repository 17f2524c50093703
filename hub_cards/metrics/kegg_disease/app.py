"""The metric's Hub Space: evaluate's standard widget."""

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load("kegg_disease.py")
launch_gradio_widget(module)
