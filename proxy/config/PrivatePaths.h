#pragma once

#include <QString>

namespace tollgate {

// The config and data directories hold the virtual key, the settings (a PostgreSQL password
// may be among them) and the request log (which projects a user worked on, with bodies when
// asked): they are the user's alone. Directories Tollgate creates get mode 0700; the app's
// own standard directories are brought back to 0700 if an older version left them open, and
// its files to 0600.
class PrivatePaths
{
public:
    // Creates path and any missing parent with mode 0700 (the app's own config and data
    // directories are set to 0700 even when they exist); false, with *error, on failure.
    static bool makeDirectory(const QString &path, QString *error = nullptr);
    // Takes every permission of group and others off an existing file.
    static void restrictFile(const QString &path);
    // Whether path is one of the app's own standard directories (config, data).
    static bool isAppDirectory(const QString &path);
};

} // namespace tollgate
