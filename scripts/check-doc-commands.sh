#!/usr/bin/env bash
# Runs every medquanbench-cli command shown in README.md and docs/*.md, as written, from the
# repository root on the sample data, and fails with one line naming the doc, the line and
# the command that failed (its output follows).
#
#   bash scripts/check-doc-commands.sh            # every doc
#   bash scripts/check-doc-commands.sh docs/cli.md
#   bash scripts/check-doc-commands.sh --list     # print the commands, run nothing
#
# Convention for fenced code blocks in the docs:
#   ```sh, ```bash, ```shell   checked: every line starting with `build/bin/medquanbench-cli`
#                              or `medquanbench-cli` (joined with its `\` continuation lines)
#                              is run with bash; other lines (comments, python, the desktop
#                              application) are not run.
#   ```sh no-run               shown with shell highlighting, never run: long runs, training,
#                              benchmarks, clusters, the desktop application.
#   ```text, ```python, ...    not commands (synopses with placeholders, code).
# The examples write into /tmp/mqb-docs, which is emptied first. Commands run in document
# order, README.md first, then docs/*.md by name; a command may use what an earlier command
# of the same doc wrote.
#
# Environment: MQB_DATA_DIR (the sample data; when set, `../shared/data` in a command is
# replaced by it), MQB_BUILD_DIR (the build, default build; `build/bin/` is replaced by it).
# Builds nothing. Exits 0 with a "skipped" line when the sample data or the CLI is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

list_only=0
docs=()
for a in "$@"; do
  case "$a" in
    --list) list_only=1 ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) docs+=("$a") ;;
  esac
done
if [ ${#docs[@]} -eq 0 ]; then
  docs=(README.md)
  for f in docs/*.md; do [ -f "$f" ] && docs+=("$f"); done
fi

build_dir=${MQB_BUILD_DIR:-build}
data=${MQB_DATA_DIR:-../shared/data}
out=/tmp/mqb-docs

# doc <TAB> line <TAB> command, one record per NUL.
extract() {
  /usr/bin/python3 - "$@" <<'PY'
import re, sys
run_langs = {"sh", "bash", "shell"}
for doc in sys.argv[1:]:
    lines = open(doc, encoding="utf-8").read().split("\n")
    fence = None   # the opening fence while inside a block
    runnable = False
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^\s*(`{3,}|~{3,})(.*)$", line)
        if fence is None and m:
            fence = m.group(1)
            words = m.group(2).strip().split()
            runnable = bool(words) and words[0] in run_langs and "no-run" not in words[1:]
            i += 1
            continue
        if fence is not None and m and m.group(1).startswith(fence[0] * 3) and not m.group(2).strip():
            fence = None
            i += 1
            continue
        if fence is not None and runnable:
            stripped = line.strip()
            if re.match(r"^(build/bin/)?medquanbench-cli(\s|$)", stripped):
                start = i + 1
                cmd = stripped
                while cmd.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
                if cmd.startswith("medquanbench-cli"):
                    cmd = "build/bin/" + cmd
                sys.stdout.write(f"{doc}\t{start}\t{cmd}\0")
        i += 1
PY
}

if [ $list_only -eq 1 ]; then
  extract "${docs[@]}" | tr '\0' '\n'
  exit 0
fi

if [ ! -f "$data/abdomen-ct/example_ct.nii.gz" ]; then
  echo "check-doc-commands: skipped: no sample data at $data/abdomen-ct (set MQB_DATA_DIR)"
  exit 0
fi
if [ ! -x "$build_dir/bin/medquanbench-cli" ]; then
  echo "check-doc-commands: skipped: $build_dir/bin/medquanbench-cli not built (bash scripts/build.sh)"
  exit 0
fi

rm -rf "$out"
mkdir -p "$out"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

records=()
while IFS= read -r -d '' r; do records+=("$r"); done < <(extract "${docs[@]}")
total=${#records[@]}
if [ "$total" -eq 0 ]; then
  echo "check-doc-commands: no medquanbench-cli commands found in ${docs[*]}" >&2
  exit 1
fi

failed=0
n=0
start_all=$(date +%s)
for r in "${records[@]}"; do
  n=$((n + 1))
  IFS=$'\t' read -r doc line cmd <<<"$r"
  run=$cmd
  [ -n "${MQB_DATA_DIR:-}" ] && run=${run//..\/shared\/data/$MQB_DATA_DIR}
  [ "$build_dir" != build ] && run=${run//build\/bin\//$build_dir\/bin\/}
  log=$logs/$n.log
  start=$(date +%s)
  rc=0
  timeout 900 bash -c "$run" >"$log" 2>&1 </dev/null || rc=$?
  secs=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then
    printf '[%d/%d] ok     %4d s  %s:%s\n' "$n" "$total" "$secs" "$doc" "$line"
  else
    failed=$((failed + 1))
    printf '[%d/%d] FAILED %4d s  %s:%s (exit %d): %s\n' "$n" "$total" "$secs" "$doc" "$line" "$rc" "$cmd"
    tail -n 15 "$log" | sed 's/^/    /'
  fi
done
echo "check-doc-commands: $((total - failed)) of $total commands ran as written ($(( $(date +%s) - start_all )) s; outputs in $out)"
[ $failed -eq 0 ]
