#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv with the exact pins.
# Idempotent: when nothing changed since the last run it returns in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.advlab-setup
want=$(cat pyproject.toml requirements/lock.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && .venv/bin/python -c "import advlab" 2>/dev/null; then
  echo "setup: .venv is up to date"
else
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==26.3"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements/lock.txt -e ".[dev]"
  echo "$want" > "$stamp"
  echo "setup: installed the pinned environment into .venv"
fi
# Headless Chromium for the browser test of the built book (Debian packages).
if [ "${ADVLAB_NO_BROWSER:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium for the browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "setup: chromium not found; install it (apt-get install chromium) or set ADVLAB_NO_BROWSER=1 to deselect the browser test" >&2
  fi
fi
# Notebooks are stored without outputs: in a git checkout, a clean filter strips outputs and execution
# counts when a notebook is staged (running a chapter in JupyterLab then leaves `git diff` empty).
# Cell tags (hide-input) and the kernel's metadata are kept; execution timings go. ADVLAB_NO_GIT_FILTER=1 leaves git's config alone.
if [ "${ADVLAB_NO_GIT_FILTER:-0}" != 1 ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git config filter.advlab-nbstrip.clean ".venv/bin/jupyter nbconvert --to=notebook --stdin --stdout --log-level=ERROR \
--ClearOutputPreprocessor.enabled=True --ClearMetadataPreprocessor.enabled=True \
--ClearMetadataPreprocessor.preserve_cell_metadata_mask=tags \
--ClearMetadataPreprocessor.preserve_nb_metadata_mask=kernelspec \
--ClearMetadataPreprocessor.preserve_nb_metadata_mask=language_info"
  git config filter.advlab-nbstrip.smudge cat
fi
