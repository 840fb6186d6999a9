#pragma once

#include <QString>

namespace tollgate {

class DesktopApp;

// Puts the window's pages into a DesktopApp: Dashboard, Sessions, Requests, Keys,
// Routes, Settings; opens the Configure Claude Code
// dialog from the tray; and, on a first start without upstream keys, offers to import
// ANTHROPIC_API_KEY (KeyImportOffer). configPath is the settings file the Settings and
// Keys pages edit; keychainService the keychain service the Keys page uses (tests pass a
// throwaway one).
class DesktopPages
{
public:
    static void install(DesktopApp &app, const QString &configPath,
                        const QString &keychainService = QStringLiteral("Tollgate"));
};

} // namespace tollgate
