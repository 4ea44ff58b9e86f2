#!/usr/bin/env bash
# run.sh - installs what the tests need, builds tandem twice (warnings as
# errors; then with AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# the whole suite with CTest: unit tests, fuzz corpus replays and the
# end-to-end tests against real peers, first on the sanitizer build, then
# on the plain one. The ThreadSanitizer build runs them all too.
# Exit status is the last CTest's; any earlier failure stops the script.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/deps.sh --test

jobs=$(nproc)
cmake -S . -B build -DTD_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"

cmake -S . -B build-asan -DTD_WERROR=ON -DTD_ASAN=ON \
      -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j "$jobs"

cmake -S . -B build-tsan -DTD_WERROR=ON -DTD_TSAN=ON \
      -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-tsan -j "$jobs"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# test_overload bounds resident memory, which sanitizers inflate: it
# runs in the plain build only.
echo "== sanitizer builds: every test under ASan+UBSan"
ctest --test-dir build-asan --output-on-failure -E '^e2e/test_overload$'
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
echo "== sanitizer builds: every test under TSan"
ctest --test-dir build-tsan --output-on-failure -E '^e2e/test_overload$'
echo "== the whole suite"
ctest --test-dir build --output-on-failure
