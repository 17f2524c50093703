"""The README's main job, end to end."""

import subprocess
import sys


def test_example_command_builds_saves_reloads_and_answers(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "modeling_bioreason.cli", "example", "--output-dir", str(tmp_path),
         "--max-new-tokens", "4"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "UNTRAINED" in result.stdout
    assert "DNA placeholders:   1344" in result.stdout
    assert "transformers_modules." in result.stdout
    assert (tmp_path / "tiny-bioreason" / "README.md").exists()
