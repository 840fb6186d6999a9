#!/usr/bin/env bash
# Compiles every source file that the Windows build compiles (proxy/, app/, ui/) with
# MinGW-w64's g++ for x86_64-w64-mingw32, against the Windows SDK headers MinGW ships and
# this machine's Qt 6 headers, with the project's warnings: each #ifdef _WIN32 / Q_OS_WIN
# branch (Winsock gather writes, the console handler, hidden key input, the Run key for
# start at login, the tray) is checked by a Windows compiler on every run, here on Linux.
# It is a syntax and type check (-fsyntax-only): nothing is linked, and MSVC, which the
# release build uses, may still warn about other things.
#
# usage: scripts/windows-check.sh
# Exits 0 when every file compiles without a warning, 1 when one does not, and 77 (the
# test's "skipped") when MinGW-w64's g++ is not installed (g++-mingw-w64-x86-64-posix).
set -euo pipefail
cd "$(dirname "$0")/.."

cxx=$(command -v x86_64-w64-mingw32-g++-posix || true)
if [[ -z $cxx ]]; then
    echo "windows-check: skipped (no x86_64-w64-mingw32-g++-posix)"
    exit 77
fi
qt=
for dir in /usr/include/x86_64-linux-gnu/qt6 /usr/include/qt6; do
    [[ -d $dir/QtCore ]] && { qt=$dir; break; }
done
[[ -n $qt ]] || { echo "windows-check: no Qt 6 headers" >&2; exit 1; }

# The libraries' own headers, and only those: a folder of links, so that nothing else of
# /usr/include (glibc's dlfcn.h or unistd.h, say) can stand in for what Windows lacks.
shim=$(mktemp -d /tmp/tollgate-windows-check.XXXXXX)
trap 'rm -rf "$shim"' EXIT
for header in http_parser.h simdjson.h xxhash.h zlib.h zconf.h zstd.h brotli qt6keychain; do
    [[ -e /usr/include/$header ]] || { echo "windows-check: missing /usr/include/$header" >&2; exit 1; }
    ln -s "/usr/include/$header" "$shim/$header"
done

flags=(-fsyntax-only -std=c++20 -Wall -Wextra -Wpedantic
       # Qt's Linux headers declare exports for ELF; MinGW notes each dllimport it ignores.
       -Wno-attributes
       -DQT_NO_CAST_FROM_ASCII -DQT_NO_CAST_TO_ASCII -DQT_USE_QSTRINGBUILDER
       -DQT_NO_URL_CAST_FROM_STRING -DQT_NO_NARROWING_CONVERSIONS_IN_CONNECT
       # (quotes escaped for the response file below)
       '-DTOLLGATE_VERSION=\"0.0.0\"' -DTOLLGATE_HAVE_GUI
       -I"$qt")
for module in QtCore QtNetwork QtSql QtGui QtWidgets QtCharts QtSvg QtConcurrent; do
    flags+=(-I"$qt/$module")
done
flags+=(-Iproxy -Iui -Iapp -I"$shim")

# What the Windows build leaves out: the other platforms' start-at-login, Linux's epoll
# dispatcher, and the SQLite binding that is found with dlsym (Unix only; proxy/CMakeLists).
files=$(git ls-files 'proxy/*.cpp' 'app/*.cpp' 'ui/*.cpp' |
    grep -v -E 'AutostartMacOs|AutostartXdg|EpollEventDispatcher|SqliteRowWriter')

# One file per compiler run, two at a time; -Werror makes a warning fail like an error.
printf '%s\n' "${flags[@]}" -Werror >"$shim/flags.rsp"
count=$(printf '%s\n' $files | wc -l)
# A file named *Avx2.cpp is built with -mavx2, as proxy/CMakeLists.txt builds it.
compile() {
    case $1 in
    *Avx2.cpp) "$cxx" @"$shim/flags.rsp" -mavx2 "$1" ;;
    *) "$cxx" @"$shim/flags.rsp" "$1" ;;
    esac
}
export -f compile
export cxx shim
if ! printf '%s\n' $files | xargs -P 2 -n 1 bash -c 'compile "$1"' compile; then
    echo "windows-check: a file does not compile cleanly for Windows (above)"
    exit 1
fi
echo "windows-check: $count files compile cleanly for Windows"
