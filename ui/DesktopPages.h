#pragma once

#include <QString>

namespace tollgate {

class DesktopApp;

// Puts the window's pages into a DesktopApp: Dashboard, Sessions, Requests, the Keys and
// Routes entries (their pages come with key management and routing), Settings; and opens
// the Configure Claude Code dialog from the tray. configPath is the settings file the
// Settings page edits.
class DesktopPages
{
public:
    static void install(DesktopApp &app, const QString &configPath);
};

} // namespace tollgate
