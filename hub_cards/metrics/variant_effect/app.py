"""The metric's Hub Space: evaluate's standard widget."""

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load("variant_effect.py")
launch_gradio_widget(module)
