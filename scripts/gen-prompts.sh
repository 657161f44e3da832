#!/usr/bin/env bash
# Renders the IVR's voice prompts with espeak-ng and converts them with sox to 8 kHz mono G.711
# raw files, <name>.pcmu (mu-law) and <name>.pcma (A-law), ready to be cut into RTP packets.
#
# Usage: gen-prompts.sh [OUT_DIR] [MANIFEST|-]
#   MANIFEST: "name<TAB>text" lines; "-" reads them from stdin. Default: printed by
#             src/media/prompt-texts.ts, where the texts live (so they are never written twice).
#   OUT_DIR:  default $HOTDESK_PROMPTS_DIR, else ~/.cache/hotdesk-operator/prompts-<manifest hash>.
# Idempotent: a folder whose .complete stamp matches the manifest hash is left alone. Prints OUT_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

for tool in espeak-ng sox; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "gen-prompts: $tool not found; install the Debian packages espeak-ng and sox (apt-get install espeak-ng sox)" >&2
    exit 3
  fi
done

manifest_source="${2:-}"
if [ "$manifest_source" = "-" ]; then
  manifest="$(cat)"
elif [ -n "$manifest_source" ]; then
  manifest="$(cat "$manifest_source")"
elif command -v node >/dev/null 2>&1 && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 23 ? 0 : 1)'; then
  manifest="$(node "$ROOT/src/media/prompt-texts.ts")"
else
  manifest="$(bash "$ROOT/scripts/with-node.sh" node "$ROOT/src/media/prompt-texts.ts")"
fi
# $(...) drops the final newline; put it back so the hash is over the exact bytes prompt-texts.ts prints.
manifest="${manifest%$'\n'}"$'\n'
hash="$(printf '%s' "$manifest" | sha256sum | cut -c1-16)"

out="${1:-${HOTDESK_PROMPTS_DIR:-$HOME/.cache/hotdesk-operator/prompts-$hash}}"
if [ -f "$out/.complete" ] && [ "$(cat "$out/.complete")" = "$hash" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$(dirname "$out")"
work="$(mktemp -d "$(dirname "$out")/.prompts-work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # mktemp makes it private; the image runs as another user than the one that builds
while IFS=$'\t' read -r name text; do
  [ -z "$name" ] && continue
  espeak-ng -v en-us -s 150 -w "$work/$name.wav" "$text"
  # norm leaves 3 dB of headroom so the companded audio does not clip.
  sox "$work/$name.wav" -t raw -r 8000 -c 1 -e u-law -b 8 "$work/$name.pcmu" norm -3
  sox "$work/$name.wav" -t raw -r 8000 -c 1 -e a-law -b 8 "$work/$name.pcma" norm -3
  rm -f "$work/$name.wav"
done <<<"$manifest"
printf '%s' "$manifest" > "$work/manifest.tsv"
echo "$hash" > "$work/.complete"

# Swap the finished folder in whole, so a reader never sees half a set. Another generator may have
# won the race meanwhile; its result is as good as ours.
if ! mv -T "$work" "$out" 2>/dev/null; then
  if [ -f "$out/.complete" ] && [ "$(cat "$out/.complete")" = "$hash" ]; then
    :
  else
    rm -rf "$out"
    mv -T "$work" "$out"
  fi
fi
echo "$out"
