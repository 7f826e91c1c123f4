#!/bin/sh
# Whole-process benchmarks of the release binary, as an agent runs it: a new
# `mandate` process per question, every comparison made in one hyperfine run
# so the ratios hold on a noisy machine.
#
#   1. `mandate show --json` on the demo machine beside `mandate --version`
#      (the cost of starting a process of this size at all);
#   2. the demo resolved unsigned and with every policy file signed;
#   3. policy.d with 1, 10, 100 and 1,000 small files;
#   4. 10,000 command rules (managed) plus 10,000 from the user, and its
#      peak RSS (/usr/bin/time -v) beside the size of the input, with the
#      floor of merely parsing the same two files (`parse_floor`: the
#      grammar alone, mandate's reader, and `toml`'s table) in the same run;
#   5. `codex execpolicy check` over 10,000 prefix rules, when `codex` is
#      installed (skipped with a message otherwise).
#
# Usage (from anywhere in the repository):
#
#   apt-get install -y hyperfine time
#   cargo build --release -p mandate-cli && cargo build --release -p mandate --example parse_floor
#   sh lib/benches/whole_process.sh            # RUNS=50 by default
#   RUNS=200 sh lib/benches/whole_process.sh
#
# docs/benchmarks.md records the figures of two runs.

set -eu

cd "$(dirname "$0")/../.."
BIN=${MANDATE:-$PWD/target/release/mandate}
FLOOR=${PARSE_FLOOR:-$PWD/target/release/examples/parse_floor}
RUNS=${RUNS:-50}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if ! command -v hyperfine >/dev/null; then
    echo "hyperfine is needed: apt-get install -y hyperfine" >&2
    exit 1
fi
if [ ! -x "$BIN" ] || [ ! -x "$FLOOR" ]; then
    echo "$BIN or $FLOOR is missing: cargo build --release -p mandate-cli && cargo build --release -p mandate --example parse_floor" >&2
    exit 1
fi

bench() {
    hyperfine --shell=none --warmup 5 --runs "$RUNS" --style basic "$@" 2>&1 |
        grep -E 'Benchmark|Time|Range|±|faster'
}

# A machine tree under $1 with the directories a managed tree needs.
machine() {
    mkdir -p "$1/etc/mandate/policy.d" "$1/var/lib/mandate" "$1/home/ana/.config/mandate"
    chmod -R go-w "$1"
}

echo "== 1. demo: show --json against --version"
"$BIN" demo --out "$WORK/demo" >/dev/null
DEMO="$BIN --root $WORK/demo --platform linux --user ana"
bench -n version "$BIN --version" -n 'show --json (demo)' "$DEMO show --json"

echo "== 2. demo: unsigned against signed"
cp -a "$WORK/demo" "$WORK/signed"
(
    cd "$WORK"
    "$BIN" keys generate --out keys/root >/dev/null
    "$BIN" keys generate --out keys/policy >/dev/null
    "$BIN" trust init --org acme --root-key keys/root.pub --policy-key keys/policy.pub \
        --signed-sources system --sign keys/root.key -o trust.toml >/dev/null
    cp trust.toml signed/etc/mandate/trust.toml
    for f in signed/etc/mandate/policy.d/*.toml; do
        # A signed header names org, channel and issue time too.
        sed '/^\[policy\]/a org = "acme"\nchannel = "system"\nissued_at = 2026-01-01T00:00:00Z' \
            "$f" >"$f.signed"
        "$BIN" sign --key keys/policy.key "$f.signed" -o "${f%.toml}.bundle" >/dev/null
        rm "$f" "$f.signed"
    done
)
SIGNED="$BIN --root $WORK/signed --platform linux --user ana"
# The first run pins the trust root and records the bundles, as on a device.
$SIGNED show --json >/dev/null
$SIGNED sources --json | grep -c '"verified"' | sed 's/^/verified bundles: /'
bench -n unsigned "$DEMO show --json" -n signed "$SIGNED show --json"

echo "== 3. policy.d with 1, 10, 100, 1,000 files"
for n in 1 10 100 1000; do
    machine "$WORK/files$n"
    i=1
    while [ "$i" -le "$n" ]; do
        printf '[policy]\nid = "p%d"\nversion = 1\n\n[settings]\n"sandbox.mode" = "read-only"\n\n[requirements]\n"approvals.policy" = { allowed = ["untrusted", "on-request"] }\n"network.denied_domains" = { includes = ["bad%d.example.com"] }\n' \
            "$i" "$i" >"$WORK/files$n/etc/mandate/policy.d/$(printf %05d "$i")-p.toml"
        i=$((i + 1))
    done
done
bench \
    -n 1 "$BIN --root $WORK/files1 --platform linux show --json" \
    -n 10 "$BIN --root $WORK/files10 --platform linux show --json" \
    -n 100 "$BIN --root $WORK/files100 --platform linux show --json" \
    -n 1000 "$BIN --root $WORK/files1000 --platform linux show --json"

echo "== 4. 10,000 command rules (managed) + 10,000 (user)"
rules() { # $1 = prefix, $2 = count
    awk -v p="$1" -v n="$2" 'BEGIN {
        split("allow prompt forbidden", d, " ");
        for (i = 0; i < n; i++)
            printf "  { pattern = [\"%stool%d\", \"sub%d\"], decision = \"%s\" },\n", p, i % 101, i, d[i % 3 + 1]
    }'
}
R="$WORK/rules"
machine "$R"
{
    printf '[policy]\nid = "rules"\nversion = 1\n\n[settings]\ncommands.rules = [\n'
    rules m 10000
    printf ']\n'
} >"$R/etc/mandate/policy.d/10-rules.toml"
{
    printf 'commands.rules = [\n'
    rules u 10000
    printf ']\n'
} >"$R/home/ana/.config/mandate/config.toml"
chmod -R go-w "$R"
RULES="$BIN --root $R --platform linux --user ana"
FILES="$R/etc/mandate/policy.d/10-rules.toml $R/home/ana/.config/mandate/config.toml"
bench -n version "$BIN --version" -n 'parse floor (events)' "$FLOOR --events $FILES" \
    -n 'parse floor (reader)' "$FLOOR --reader $FILES" \
    -n 'parse floor' "$FLOOR $FILES" -n '10k+10k rules' "$RULES show --json"
input=$(cat $FILES | wc -c)
if [ -x /usr/bin/time ]; then
    floor=$(/usr/bin/time -v "$BIN" --version 2>&1 >/dev/null | awk '/Maximum resident/ { print $6 }')
    parse=$(/usr/bin/time -v $FLOOR $FILES 2>&1 >/dev/null | awk '/Maximum resident/ { print $6 }')
    reader=$(/usr/bin/time -v $FLOOR --reader $FILES 2>&1 >/dev/null | awk '/Maximum resident/ { print $6 }')
    peak=$(/usr/bin/time -v $RULES show --json 2>&1 >/dev/null | awk '/Maximum resident/ { print $6 }')
    echo "input: $input bytes; peak RSS: $peak kB (--version: $floor kB; parse floor: $parse kB; reader: $reader kB)"
else
    echo "skipped: peak RSS needs /usr/bin/time (apt-get install -y time)"
fi

echo "== 5. codex execpolicy check over 10,000 prefix rules"
if command -v codex >/dev/null; then
    codex --version
    awk 'BEGIN {
        split("allow prompt forbidden", d, " ");
        for (i = 0; i < 10000; i++)
            printf "prefix_rule(pattern = [\"mtool%d\", \"sub%d\"], decision = \"%s\")\n", i % 101, i, d[i % 3 + 1]
    }' >"$WORK/rules.rules"
    flag=--rules
    codex execpolicy check --help 2>&1 | grep -q -- '--rules' || flag=--policy
    codex execpolicy check "$flag" "$WORK/rules.rules" mtool7 sub7 | head -c 300
    echo
    bench -n 'mandate 10k+10k rules' "$RULES show --json" \
        -n 'codex execpolicy check, 10k rules' "codex execpolicy check $flag $WORK/rules.rules mtool7 sub7"
else
    echo "skipped: codex is not installed (npm install -g @openai/codex)"
fi
