#!/bin/sh
# Runs a command against a real, throwaway OS keychain: a private D-Bus session bus with a
# GNOME keyring daemon whose login keyring is created and unlocked with an empty password.
# Everything lives in a temporary HOME, so a developer's own keyring is never opened, and
# the daemon is stopped before the bus goes away (a daemon left behind would outlive the
# test). Used as the ctest LAUNCHER of the keychain tests:
#
#     sh tests/support/with-keyring.sh ./tst_KeyStore
#
# Needs dbus (dbus-run-session, dbus-send), gnome-keyring and libsecret-1-0.
set -eu

if [ -z "${TOLLGATE_KEYRING_SESSION:-}" ]; then
    for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "with-keyring.sh: $tool not found; install dbus and gnome-keyring" >&2
            exit 1
        fi
    done
    TOLLGATE_KEYRING_SESSION=1 exec dbus-run-session -- sh "$0" "$@"
fi
unset TOLLGATE_KEYRING_SESSION

home=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-keyring.XXXXXX")
export HOME="$home"
export XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share"
export XDG_CACHE_HOME="$home/.cache" XDG_RUNTIME_DIR="$home/run"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
mkdir -m 700 "$XDG_RUNTIME_DIR"
# No desktop session to pick KWallet from, and no X display to pop an unlock prompt on.
unset DISPLAY WAYLAND_DISPLAY XDG_CURRENT_DESKTOP DESKTOP_SESSION KDE_FULL_SESSION

# --unlock reads the login keyring's password from stdin and creates the keyring when there
# is none.
printf '\n' | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null &
daemon=$!

# The daemon claims org.freedesktop.secrets a moment after it starts. A client that asks
# earlier makes the bus start a second daemon from its .service file, and the two fight
# over the keyring file; so wait for the name before running the command.
owned=false
tries=0
while [ "$tries" -lt 100 ]; do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
        | grep -q 'boolean true'; then
        owned=true
        break
    fi
    if ! kill -0 "$daemon" 2>/dev/null; then
        break
    fi
    sleep 0.1
    tries=$((tries + 1))
done

status=0
if [ "$owned" = true ]; then
    "$@" || status=$?
else
    echo "with-keyring.sh: gnome-keyring-daemon did not start its secrets service" >&2
    status=1
fi

kill "$daemon" 2>/dev/null || true
wait "$daemon" 2>/dev/null || true
rm -rf "$home"
exit "$status"
