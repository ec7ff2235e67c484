#!/usr/bin/env bash
# Gradescope runs this once, while it builds the autograder image (Ubuntu): it installs
# Python, the CPU build of torch, then the grader from the bundled source with its
# runtime dependencies, into a virtual environment that run_autograder uses.
set -euo pipefail

SOURCE="${AUTOGRADER_SOURCE:-/autograder/source}"
VENV="${GRADER_VENV:-/opt/nn-grader}"

export DEBIAN_FRONTEND=noninteractive
apt-get update
# libseccomp2: the seccomp layer of the sandbox (pyseccomp loads it).
apt-get install -y --no-install-recommends python3 python3-venv python3-pip libseccomp2 ca-certificates

python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --upgrade pip
# The CPU build first, so that the grader's torch requirement needs no CUDA download.
"$VENV/bin/python" -m pip install "torch==@TORCH_VERSION@" --index-url https://download.pytorch.org/whl/cpu
"$VENV/bin/python" -m pip install "$SOURCE"
"$VENV/bin/python" -c "import torch, grader; print('torch', torch.__version__, 'grader', grader.__version__)"
