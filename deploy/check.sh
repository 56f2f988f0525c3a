#!/usr/bin/env bash
# Checks what deploy/ ships, without a Docker daemon (none runs on the CI machines):
#  1. alert rules: `promtool check rules` and `promtool test rules` (Debian package `prometheus`);
#  2. compose.yaml: dclint (compose-spec JSON schema + best practices);
#  3. sidecar.Dockerfile: dockerfile-utils lint (the linter of the Docker language server);
#  4. the image's runtime layout: `pnpm deploy --prod` of the sidecar into a temp dir, started from
#     there as the image's CMD does, until GET /health/live answers 200 (needs `pnpm build` first;
#     skipped with a notice when apps/sidecar/dist is missing).
set -euo pipefail
cd "$(dirname "$0")"
bin=node_modules/.bin

echo "== promtool check rules"
promtool check rules prometheus/alerts.yml
echo "== promtool test rules"
(cd prometheus && promtool test rules alerts.test.yml)
echo "== dclint compose.yaml"
"$bin/dclint" compose.yaml
echo "== dockerfile-utils lint sidecar.Dockerfile"
"$bin/dockerfile-utils" lint sidecar.Dockerfile
echo "dockerfile-utils: no problems"

echo "== runtime layout (pnpm deploy --prod, start, /health/live)"
if [ ! -f ../apps/sidecar/dist/main.js ]; then
  echo "SKIP runtime layout: apps/sidecar/dist/main.js missing (run pnpm build first)"
  exit 0
fi
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
(cd .. && pnpm --filter @pipeline/sidecar deploy --prod "$work/app" >"$work/deploy.log" 2>&1) || {
  cat "$work/deploy.log"
  exit 1
}
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
# No provider is reachable from CI: Yahoo points at a closed port; the sidecar still goes live.
(cd "$work/app" && exec env NODE_ENV=production HOST=127.0.0.1 PORT="$port" SOURCES=yahoo \
  YAHOO_BASE_URL=http://127.0.0.1:9 BOOTSTRAP_DAYS=0 SQLITE_PATH="$work/data/pipeline.db" \
  node --max-semi-space-size=128 --min-semi-space-size=16 --no-allocation-site-pretenuring --enable-source-maps dist/main.js >"$work/sidecar.log" 2>&1) &
pid=$!
for _ in $(seq 1 60); do
  if node -e "fetch('http://127.0.0.1:$port/health/live').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
    echo "deployed sidecar answers /health/live on port $port"
    exit 0
  fi
  sleep 0.5
done
echo "deployed sidecar did not answer /health/live within 30 s; its log:"
cat "$work/sidecar.log"
exit 1
