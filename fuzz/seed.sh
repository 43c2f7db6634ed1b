#!/usr/bin/env bash
# Seeds the fuzz corpora from the test fixtures (run from anywhere):
#   corpus/check/       every fixture file as is (.xlsx, .xlsm, .xlsb, .xls, .ods, the hostile,
#                       peer and bad files) except the
#                       two zip bombs, which take ~0.1 s each and would starve the fuzzer)
#   corpus/check_xlsx/  every zip-based fixture (.xlsx, .xlsm, .xlsb, .ods) unpacked into "@@@ <entry>\n<content>" lists
set -euo pipefail
cd "$(dirname "$0")"
FIX=../tests/fixtures
mkdir -p corpus/check corpus/check_xlsx
n=0
while IFS= read -r -d '' f; do
  # distinct names: directory + file name
  dir=$(basename "$(dirname "$f")")
  cp -f "$f" "corpus/check/${dir}--$(basename "$f")"
  n=$((n + 1))
done < <(find "$FIX" -type f \( -name '*.xlsx' -o -name '*.xlsm' -o -name '*.xlsb' -o -name '*.xls' -o -name '*.ods' -o -name '*#' \) ! -name 'bomb*' -print0)
echo "corpus/check: $n fixtures copied"
python3 - "$FIX" corpus/check_xlsx <<'PY'
import os, sys, zipfile
fix, out = sys.argv[1], sys.argv[2]
n = 0
for root, _, files in os.walk(fix):
    for f in files:
        p = os.path.join(root, f)
        if not f.endswith((".xlsx", ".xlsm", ".xlsb", ".ods")) or not zipfile.is_zipfile(p):
            continue
        try:
            with zipfile.ZipFile(p) as z:
                parts = []
                for info in z.infolist():
                    if info.file_size > 1_000_000:
                        raise ValueError("too large for a seed")
                    parts.append(b"@@@ " + info.filename.encode() + b"\n" + z.read(info))
        except Exception as e:
            print(f"  skipped {p}: {e}")
            continue
        name = os.path.basename(root) + "--" + f + ".entries"
        with open(os.path.join(out, name), "wb") as o:
            o.write(b"\n".join(parts))
        n += 1
print(f"corpus/check_xlsx: {n} workbooks unpacked")
PY
