#!/usr/bin/env bash
# The steps of linkwatch's GitHub Action (../action.yml), kept in a script so they can be tested
# and shellchecked. Inputs arrive as environment variables (never pasted into the script by the
# runner: a manifest name or argument is data, not code). Usage: run.sh lint|check|report|verdict
#
#   MANIFESTS   manifest paths and globs, separated by spaces or newlines
#   COMMAND     check | archive
#   ARCHIVE     the archive folder
#   FORMAT      report files to write besides the JSON report: json junit html markdown table
#   OUTPUT_DIR  where the report files go
#   FAIL_ON     error | warning | never
#   ARGS        more options for check/archive (split on whitespace)
set -uo pipefail

report="${OUTPUT_DIR:-linkwatch-report}/linkwatch.json"

output() {  # output NAME VALUE: a step output (one line)
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        printf '%s=%s\n' "$1" "$2" >> "$GITHUB_OUTPUT"
    fi
}

# The MANIFESTS input, split on whitespace and with its globs expanded ("manifests/*.toml refs.toml"):
# here word splitting is wanted. A glob that matches nothing stays as written, and linkwatch says
# "no such file" for it.
# shellcheck disable=SC2206
manifests=(${MANIFESTS:-manifests/*.toml})

run_lint() {
    linkwatch lint --format github -- "${manifests[@]}"  # after --: a file named --x.toml is a file
}

run_check() {
    mkdir -p "${OUTPUT_DIR:-linkwatch-report}"
    local -a extra
    # Every line of the input (a YAML block scalar spreads options over lines), split on whitespace.
    read -r -d '' -a extra <<< "${ARGS:-}"
    linkwatch "${COMMAND:-check}" --archive "${ARCHIVE:-archive}" \
        --format json --output "$report" --fail-on never "${extra[@]}" -- "${manifests[@]}"
    local code=$?
    [ -f "$report" ] && output report "$report"
    # 1 (findings) is decided by the verdict step after the reports are written; 2 (bad manifest,
    # bad option) and 3 (the run failed) stop here.
    [ "$code" -le 1 ] || exit "$code"
}

run_report() {
    [ -f "$report" ] || { echo "linkwatch: no report at $report (the check step failed)" >&2; exit 0; }
    local dir summary fmt
    dir=$(dirname "$report")
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        linkwatch merge "$report" --format markdown --fail-on never >> "$GITHUB_STEP_SUMMARY"
    fi
    # Annotations on the manifest lines, most serious first; the last line is the summary.
    linkwatch merge "$report" --format github --fail-on never --output "$dir/annotations.txt"
    cat "$dir/annotations.txt"  # workflow commands are read from standard output
    summary=$(tail -n 1 "$dir/annotations.txt")
    output summary "${summary#linkwatch: }"
    # The problems alone, for an issue body or a chat message (see docs/ci.md).
    linkwatch merge "$report" --format markdown --quiet --fail-on never --output "$dir/problems.md"
    for fmt in ${FORMAT:-json junit html}; do
        case "$fmt" in
            json) ;;
            junit) linkwatch merge "$report" --format junit --fail-on never --output "$dir/linkwatch-junit.xml" ;;
            html) linkwatch merge "$report" --format html --fail-on never --archive "${ARCHIVE:-archive}" \
                      --output "$dir/linkwatch.html" ;;
            markdown) linkwatch merge "$report" --format markdown --fail-on never --output "$dir/linkwatch.md" ;;
            table) linkwatch merge "$report" --format table --fail-on never --output "$dir/linkwatch.txt" ;;
            *) echo "linkwatch: unknown format '$fmt' in the format input (json junit html markdown table)" >&2
               exit 2 ;;
        esac
    done
}

run_verdict() {
    [ -f "$report" ] || exit 3
    linkwatch merge "$report" --quiet --fail-on "${FAIL_ON:-error}"
    local code=$?
    output exit-code "$code"
    exit "$code"
}

case "${1:-}" in
    lint) run_lint ;;
    check) run_check ;;
    report) run_report ;;
    verdict) run_verdict ;;
    *) echo "usage: $0 lint|check|report|verdict" >&2; exit 2 ;;
esac
