#!/usr/bin/env bash
# Fills fuzz/corpus/TARGET with seeds from the shipped sample trail and test keys.
# Run from anywhere; the corpus folders are git-ignored and grow as the fuzzer runs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sample="$here/../testdata/sample"
corpus="$here/corpus"
mkdir -p "$corpus"/{digest,gzip,keys,objectkey}

n=0
while IFS= read -r -d '' file; do
    n=$((n + 1))
    rel="${file#"$sample"/}"
    case "$file" in
        */CloudTrail-Digest/*.json.gz)
            gzip -dc "$file" > "$corpus/digest/sample-$n"
            cp "$file" "$corpus/gzip/digest-$n"
            ;;
        */CloudTrail/*.json.gz)
            # Small logs only: the gzip target's inputs stay within libFuzzer's -max_len.
            if [ "$(stat -c %s "$file")" -le 4096 ]; then cp "$file" "$corpus/gzip/log-$n"; fi
            ;;
    esac
    printf '%s' "$rel" > "$corpus/objectkey/key-$n"
done < <(find "$sample" -type f -print0)

# Key files: mode byte 0 then a key file; mode byte 1 then one key's DER.
{ printf '\000'; cat "$here/../keys/test-keys.json"; } > "$corpus/keys/file"
i=0
for value in $(grep -o '"Value": "[^"]*"' "$here/../keys/test-keys.json" | cut -d'"' -f4); do
    i=$((i + 1))
    { printf '\001'; printf '%s' "$value" | base64 -d; } > "$corpus/keys/der-$i"
done
echo "seeded: $(ls "$corpus"/digest | wc -l) digest, $(ls "$corpus"/gzip | wc -l) gzip," \
    "$(ls "$corpus"/keys | wc -l) keys, $(ls "$corpus"/objectkey | wc -l) objectkey"
