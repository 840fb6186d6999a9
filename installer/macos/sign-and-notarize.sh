#!/usr/bin/env bash
# Signs and notarises Tollgate on macOS.
#
#   sign-and-notarize.sh app Tollgate.app   sign the bundle (run by CPack before the DMG is
#                                           made, installer/macos/CPackSignApp.cmake)
#   sign-and-notarize.sh dmg tollgate.dmg   sign the disk image, have Apple notarise it and
#                                           staple the ticket (run by the release workflow)
#
# Environment:
#   TOLLGATE_CODESIGN_IDENTITY   a "Developer ID Application: ..." identity in the keychain;
#                                unset: `app` signs ad hoc and `dmg` does nothing
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD
#                                notarytool credentials (an app-specific password); unset:
#                                `dmg` signs but does not notarise
set -euo pipefail

identity="${TOLLGATE_CODESIGN_IDENTITY:-}"

sign_app() {
    local app=$1
    if [[ -z "$identity" ]]; then
        # Ad hoc: the binaries run on Apple silicon, Gatekeeper still asks on first start.
        codesign --force --deep --sign - "$app"
        codesign --verify --deep --strict "$app"
        return
    fi
    # Inside out, as codesign wants it: every library, plugin and framework first, the app
    # last. The hardened runtime (--options runtime) and a secure timestamp are what the
    # notary service requires.
    local sign=(codesign --force --timestamp --options runtime --sign "$identity")
    while IFS= read -r -d '' item; do
        "${sign[@]}" "$item"
    done < <(find "$app/Contents" \( -name '*.dylib' -o -name '*.so' \) -type f -print0)
    while IFS= read -r -d '' framework; do
        "${sign[@]}" "$framework"
    done < <(find "$app/Contents/Frameworks" -maxdepth 1 -name '*.framework' -print0 2>/dev/null)
    "${sign[@]}" "$app"
    codesign --verify --deep --strict --verbose=2 "$app"
}

notarize_dmg() {
    local dmg=$1
    if [[ -z "$identity" ]]; then
        echo "sign-and-notarize: no TOLLGATE_CODESIGN_IDENTITY; $dmg stays unsigned"
        return
    fi
    codesign --force --timestamp --sign "$identity" "$dmg"
    if [[ -z "${APPLE_ID:-}" || -z "${APPLE_TEAM_ID:-}" || -z "${APPLE_APP_PASSWORD:-}" ]]; then
        echo "sign-and-notarize: no notarytool credentials; $dmg is signed, not notarised"
        return
    fi
    xcrun notarytool submit "$dmg" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
        --password "$APPLE_APP_PASSWORD" --wait
    xcrun stapler staple "$dmg"
    xcrun stapler validate "$dmg"
    spctl --assess --type open --context context:primary-signature --verbose=2 "$dmg"
}

case "${1:-}" in
    app) sign_app "$2" ;;
    dmg) notarize_dmg "$2" ;;
    *)
        echo "usage: $0 app Tollgate.app | dmg tollgate.dmg" >&2
        exit 2
        ;;
esac
