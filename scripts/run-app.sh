#!/usr/bin/env bash
# Install the app into .venv (once) and start it on http://localhost:8501.
# With no MONGO_URI it starts the embedded database server; with no data it offers a demo.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt -e .
exec .venv/bin/python -m streamlit run serve.py "$@"  # streamlit_app.py with a warm start
