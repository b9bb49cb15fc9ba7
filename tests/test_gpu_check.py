"""benchmarks/gpu_check.sh: on a machine without CUDA it says so and exits cleanly (CI and this machine)."""

import os
import subprocess

from conftest import REPO


def test_gpu_check_without_cuda_exits_cleanly_with_a_message(tmp_path):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no CUDA device" in proc.stdout and not (tmp_path / "gpu_check.json").exists()
