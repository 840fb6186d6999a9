#pragma once

#include <QByteArray>
#include <QCoreApplication>
#include <QString>
#include <optional>

namespace tollgate {

// Points Claude Code at the gateway through its user settings file (~/.claude/settings.json),
// whose "env" object Claude Code exports to its own process: ANTHROPIC_BASE_URL and
// ANTHROPIC_API_KEY are merged in, and every other key and env entry is kept.
//
// The file is parsed as JSON and written back with QJsonDocument, so keys come out sorted
// and indented four spaces (the content is the same; the order and layout may change). A
// file that is not a JSON object is never written over.
//
// Before the first change, the file as it was is copied byte for byte to
// settings.json.tollgate-backup (private, 0600); an empty backup stands for "there was no
// settings file". Undo puts that state back exactly when the file still is what apply()
// made of it; when the user changed it since, only the two entries are taken out again, so
// those later changes survive. Every write is atomic.
class ClaudeCodeSettings
{
    Q_DECLARE_TR_FUNCTIONS(ClaudeCodeSettings)

public:
    enum class Undone {
        RestoredBackup, // the file is back to the bytes it had before apply()
        RemovedFile, // there was no file before apply(), and there is none now
        RemovedEntries, // only the two env entries were taken out (or given their old values)
        NothingToUndo, // neither a backup nor Tollgate's entries were there
    };

    // $CLAUDE_CONFIG_DIR/settings.json when Claude Code is told to look there, else
    // ~/.claude/settings.json.
    static QString defaultPath();
    static QString backupPath(const QString &settingsPath);

    // Merges the two entries in, creating the file and its directory when missing. Applying
    // the values that are already there writes nothing. False with *error (the file left as
    // it was) when the file is not a JSON object, its "env" is not an object, or a write
    // fails.
    static bool apply(const QString &settingsPath, const QString &baseUrl, const QByteArray &apiKey,
                      QString *error);

    // See the class comment. Without a backup, an entry is only taken out when it is
    // recognisably Tollgate's (a loopback base URL, a "tg-" key), so a user's own base URL
    // is never removed. nullopt with *error when the file is not a JSON object or a write
    // fails; nothing is changed then.
    static std::optional<Undone> undo(const QString &settingsPath, QString *error);

    // Whether the file sets exactly these two values.
    static bool isApplied(const QString &settingsPath, const QString &baseUrl,
                          const QByteArray &apiKey);
    // Whether undo() has a backup to go back to.
    static bool hasBackup(const QString &settingsPath);
};

} // namespace tollgate
