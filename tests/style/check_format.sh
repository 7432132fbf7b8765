#!/bin/sh
# Every C source and header follows .clang-format (clang-format --dry-run -Werror lists what differs).
cd "${COMP_SRC:?}" || exit 1
command -v clang-format >/dev/null || { echo "SKIP: clang-format not installed"; exit 77; }
files=$(git ls-files -co --exclude-standard 'src/*.c' 'src/*.h' 'include/*.h' 'tests/*.c' 'tests/*.h' 2>/dev/null ||
        find src include tests -name '*.[ch]')
n=$(echo "$files" | wc -w)
if clang-format --dry-run -Werror $files; then echo "ok   $n files follow .clang-format"; exit 0; fi
echo "FAIL: run clang-format -i on the files above"; exit 1
