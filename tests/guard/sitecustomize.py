"""Imported by every Python process the tests start (``tests/guard`` leads ``PYTHONPATH``, see
``tests/model_guard.py``): in a test not marked slow, real Whisper engines refuse to load here too."""

import os

if os.environ.get("AUDIOTOTEXT_TEST_REFUSALS"):
    from guard.real_models import install_in_subprocess

    install_in_subprocess()
