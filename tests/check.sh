# Sourced by the shell tests (tests/*/*.sh): check NAME COMMAND... runs the
# command, prints PASS or FAIL with the name, counts both in $passed and
# $failed, and returns the command's status.
passed=0
failed=0

check() {
    local name=$1
    shift
    if "$@"; then
        echo "PASS: $name"
        passed=$((passed + 1))
    else
        echo "FAIL: $name"
        failed=$((failed + 1))
        return 1
    fi
}
