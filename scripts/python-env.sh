#!/usr/bin/env bash
# Creates .venv-python/ at the repo root with python/requirements.txt installed (the GPU-side Python: kit
# scripts, their tests, ruff). Idempotent and quiet: a stamp file records the sha256 of the requirements that
# were installed, and a rerun with the same requirements does nothing. Prints pip's log only on failure, and the
# venv's path at the end with -v. Works executed or sourced; exports and leaves behind nothing.
#
#   bash scripts/python-env.sh [-v]
#   PYTHON=python3.12 bash scripts/python-env.sh      # another interpreter for the venv (default: python3)
#
# pip runs with --retries 0: where the public index is unreachable it falls through to the configured local one
# at once, and where it is reachable nothing changes.

_ssra_python_env() (
  set -euo pipefail
  verbose=0
  for arg in "$@"; do
    case "$arg" in
      -v | --verbose) verbose=1 ;;
      -h | --help)
        sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
      *)
        echo "python-env.sh: unknown argument: $arg" >&2
        exit 2
        ;;
    esac
  done
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="$root/.venv-python"
  requirements="$root/python/requirements.txt"
  stamp="$venv/.requirements.sha256"
  python="${PYTHON:-python3}"

  if ! command -v "$python" >/dev/null 2>&1; then
    echo "python-env.sh: $python not found (set PYTHON to a Python >= 3.10)" >&2
    exit 1
  fi
  if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "python-env.sh: $python is $("$python" -V 2>&1); transformers 5 needs Python >= 3.10 (set PYTHON to one)" >&2
    exit 1
  fi
  if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "python-env.sh: $python has no venv/ensurepip module (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
  want="$("$python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$requirements")"

  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
  fi
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    [ "$verbose" = 1 ] && echo "$venv"
    exit 0
  fi

  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  rm -f "$stamp"
  if ! PIP_RETRIES=0 "$venv/bin/python" -m pip install --retries 0 --disable-pip-version-check \
    -r "$requirements" >"$log" 2>&1; then
    cat "$log" >&2
    echo "python-env.sh: pip install -r python/requirements.txt failed (log above)" >&2
    exit 1
  fi
  printf '%s\n' "$want" >"$stamp"
  [ "$verbose" = 1 ] && echo "$venv"
  exit 0
)

if (return 0 2>/dev/null); then
  _ssra_python_env "$@"
  _ssra_python_env_rc=$?
  unset -f _ssra_python_env
  eval "unset _ssra_python_env_rc; return $_ssra_python_env_rc"
else
  _ssra_python_env "$@"
fi
