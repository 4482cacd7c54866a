#!/usr/bin/env bash
# What benchmarks/gpu.py needs on a lent GPU machine (the device tool), in .gpu/ (git-ignored here):
# the Python packages that machine lacks, for its Python 3.12, as one xz archive (Ray and bitsandbytes
# trimmed to what runs there: the whole must stay under the tool's 64 MiB); MiniLM's config and
# tokenizer (no weights travel: gpu.py builds random models from configs); engineering_issues; and the
# study of `gpu.py share`, created here (its dataset card needs presidio and spaCy, which do not travel).
#
#   benchmarks/gpu_payload.sh            # about 3 minutes (downloads, then xz on one core)
#
# Then one device call, carry [".gpu"], the command printed at the end (about 9 minutes of device time).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUTDIR=.gpu
STAGE=$(mktemp -d)
WHEELS=$(mktemp -d)
trap 'rm -rf "$STAGE" "$WHEELS"' EXIT
grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >> .git/info/exclude
mkdir -p "$OUTDIR"

# The packages hpsearch's run path imports that the machine's image does not hold (KINDS.md lists it),
# at the versions installed here.
NAMES="ray bitsandbytes optuna sqlalchemy alembic mako colorlog datasets dill multiprocess pydantic pydantic-core
annotated-types typing-inspection fairlearn datasketch jsonschema referencing rpds-py jsonschema-specifications
tensorboardx evaluate"
PLATFORMS=""
for p in manylinux1 manylinux2014 manylinux_2_17 manylinux_2_24 manylinux_2_27 manylinux_2_28 manylinux_2_31 manylinux_2_34; do
  PLATFORMS="$PLATFORMS --platform ${p}_x86_64"
done
for name in $NAMES; do
  version=$($PY -c "import importlib.metadata as m; print(m.version('$name'))")
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $PLATFORMS \
    -d "$WHEELS" "$name==$version"
done
for wheel in "$WHEELS"/*.whl; do unzip -q -o "$wheel" -d "$STAGE"; done
# Ray: no Java, RLlib, Serve, LLM or dashboard front end; bitsandbytes: the CUDA 13.0 library (the image's
# torch is built for CUDA 13.0) and the CPU one.
rm -rf "$STAGE"/ray/jars "$STAGE"/ray/rllib "$STAGE"/ray/llm "$STAGE"/ray/serve "$STAGE"/ray/dashboard/client/build
find "$STAGE"/bitsandbytes -name 'libbitsandbytes_*.so' ! -name '*cuda130*' ! -name '*cpu*' -delete
tar cJf "$OUTDIR"/site.tar.xz -C "$STAGE" .

MINILM=$($PY -c "from hpsearch.space import resolve_model; print(resolve_model('minilm'))")
mkdir -p "$OUTDIR"/minilm "$OUTDIR"/engineering_issues
for f in config.json tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt; do
  cp "$MINILM/$f" "$OUTDIR"/minilm/
done
cp "${HPSEARCH_SHARED_DATASETS:-../shared/datasets}"/engineering_issues/train.jsonl "$OUTDIR"/engineering_issues/

SHARE="--tokenizer $OUTDIR/minilm --source $OUTDIR/engineering_issues/train.jsonl --budget 120 --train 1200"
rm -rf /tmp/hpsearch-gpu-share
# shellcheck disable=SC2086
$PY benchmarks/gpu.py share --prepare-only $SHARE
cp /tmp/hpsearch-gpu-share/study.db "$OUTDIR"/share-study.db
du -sh "$OUTDIR"
cat <<EOF
device command (carry [".gpu"], timeout_s 560):
set -o pipefail; export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false RAY_USAGE_STATS_ENABLED=0
mkdir -p /tmp/site && tar xJf .gpu/site.tar.xz -C /tmp/site || exit 3
export PYTHONPATH=/tmp/site:\$PWD/src
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee \$OUT/smi.txt
timeout 290 python3 benchmarks/gpu.py run --source .gpu/engineering_issues/train.jsonl --tokenizer .gpu/minilm --out \$OUT/gpu_lora.json > \$OUT/run.log 2>&1; echo run=\$?; grep -E "decoder:|#[12]:|failed|Error|wrote" \$OUT/run.log | tail -14
mkdir -p /tmp/hpsearch-gpu-share && cp .gpu/share-study.db /tmp/hpsearch-gpu-share/study.db
mkdir -p \$OUT/share; timeout 230 python3 benchmarks/gpu.py share $SHARE --out \$OUT/share > \$OUT/share.log 2>&1; echo share=\$?; tail -14 \$OUT/share.log; cp /tmp/hpsearch-gpu-share/study.db \$OUT/share/study.db
EOF
