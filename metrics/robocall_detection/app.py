"""Hub Space entry point (only used when this folder is pushed to the Hugging Face Hub)."""

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load("robocall_detection")
launch_gradio_widget(module)
