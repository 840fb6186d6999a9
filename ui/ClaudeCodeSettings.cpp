#include "ClaudeCodeSettings.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QUrl>

namespace tollgate {

namespace {
const QString kEnv = QStringLiteral("env");
const QString kBaseUrl = QStringLiteral("ANTHROPIC_BASE_URL");
const QString kApiKey = QStringLiteral("ANTHROPIC_API_KEY");
constexpr QFileDevice::Permissions kPrivate = QFileDevice::ReadOwner | QFileDevice::WriteOwner;

struct SettingsFile
{
    bool exists = false;
    QByteArray bytes;
    QJsonObject object;
};

// A file holding nothing but white space counts as an empty object: nothing in it can be
// lost by writing entries into it.
std::optional<QJsonObject> parseObject(const QByteArray &bytes, QJsonParseError *parseError)
{
    if (bytes.trimmed().isEmpty())
        return QJsonObject();
    const QJsonDocument document = QJsonDocument::fromJson(bytes, parseError);
    if (!document.isObject())
        return std::nullopt;
    return document.object();
}

QByteArray serialized(const QJsonObject &settings)
{
    return QJsonDocument(settings).toJson(QJsonDocument::Indented);
}

QJsonObject withEntries(QJsonObject settings, const QString &baseUrl, const QString &apiKey)
{
    QJsonObject env = settings.value(kEnv).toObject();
    env.insert(kBaseUrl, baseUrl);
    env.insert(kApiKey, apiKey);
    settings.insert(kEnv, env);
    return settings;
}

// The values Tollgate writes: a base URL on this machine and a Tollgate virtual key. Used
// to leave alone entries the user set to something else.
bool looksLikeTollgates(const QString &key, const QJsonValue &value)
{
    const QString text = value.toString();
    if (key == kApiKey)
        return text.startsWith(QLatin1String("tg-"));
    const QUrl url(text);
    const QString host = url.host();
    return (url.scheme() == QLatin1String("http") || url.scheme() == QLatin1String("https"))
        && (host == QLatin1String("localhost") || QHostAddress(host).isLoopback());
}

// Whether the file is exactly what apply() made of the backup (with the entries it holds
// now), i.e. nobody changed anything else since.
bool derivesFrom(const SettingsFile &current, const QByteArray &backup)
{
    const QJsonObject env = current.object.value(kEnv).toObject();
    if (!current.exists || !env.value(kBaseUrl).isString() || !env.value(kApiKey).isString())
        return false;
    QJsonParseError parseError;
    const std::optional<QJsonObject> before = parseObject(backup, &parseError);
    return before
        && serialized(
               withEntries(*before, env.value(kBaseUrl).toString(), env.value(kApiKey).toString()))
        == current.bytes;
}

bool removeFile(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.exists() || file.remove())
        return true;
    *error = ClaudeCodeSettings::tr("Cannot remove %1: %2").arg(path, file.errorString());
    return false;
}

// Reads the file; false with *error when it cannot be read or is not a settings object.
bool readSettings(const QString &path, SettingsFile *settings, QString *error)
{
    QFile file(path);
    if (!file.exists())
        return true;
    if (!file.open(QIODevice::ReadOnly)) {
        *error = ClaudeCodeSettings::tr("Cannot read %1: %2").arg(path, file.errorString());
        return false;
    }
    settings->exists = true;
    settings->bytes = file.readAll();
    QJsonParseError parseError {};
    const std::optional<QJsonObject> object = parseObject(settings->bytes, &parseError);
    if (!object) {
        *error = parseError.error != QJsonParseError::NoError
            ? ClaudeCodeSettings::tr("%1 is not valid JSON (%2 at byte %3). It was left "
                                     "unchanged; fix or remove it and try again.")
                  .arg(path, parseError.errorString())
                  .arg(parseError.offset)
            : ClaudeCodeSettings::tr("%1 does not hold a JSON object. It was left unchanged.")
                  .arg(path);
        return false;
    }
    if (object->contains(kEnv) && !object->value(kEnv).isObject()) {
        *error = ClaudeCodeSettings::tr("\"env\" in %1 is not an object. The file was left "
                                        "unchanged.")
                     .arg(path);
        return false;
    }
    settings->object = *object;
    return true;
}

// Replaces the file in one step; permissions given are set before the first byte is written.
bool writeAtomically(const QString &path, const QByteArray &bytes,
                     std::optional<QFileDevice::Permissions> permissions, QString *error)
{
    const QString directory = QFileInfo(path).absolutePath();
    if (!QDir().mkpath(directory)) {
        *error = ClaudeCodeSettings::tr("Cannot create the folder %1.").arg(directory);
        return false;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || (permissions && !file.setPermissions(*permissions))
        || file.write(bytes) != bytes.size() || !file.commit()) {
        *error = ClaudeCodeSettings::tr("Cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}
} // namespace

QString ClaudeCodeSettings::defaultPath()
{
    const QString configDir = qEnvironmentVariable("CLAUDE_CONFIG_DIR");
    const QString base =
        configDir.isEmpty() ? QDir::homePath() + QStringLiteral("/.claude") : configDir;
    return QDir(base).filePath(QStringLiteral("settings.json"));
}

QString ClaudeCodeSettings::backupPath(const QString &settingsPath)
{
    return settingsPath + QStringLiteral(".tollgate-backup");
}

bool ClaudeCodeSettings::apply(const QString &settingsPath, const QString &baseUrl,
                               const QByteArray &apiKey, QString *error)
{
    SettingsFile current;
    if (!readSettings(settingsPath, &current, error))
        return false;
    const QString key = QString::fromUtf8(apiKey);
    const QJsonObject env = current.object.value(kEnv).toObject();
    if (current.exists && env.value(kBaseUrl) == QJsonValue(baseUrl)
        && env.value(kApiKey) == QJsonValue(key))
        return true;

    // A backup taken while the entries are in the file would hold Tollgate's own earlier
    // values (another port, another key), and undo would bring those back instead of the
    // user's file; the existing backup still holds the state before Tollgate then.
    const bool keepsBackup =
        hasBackup(settingsPath) && env.contains(kBaseUrl) && env.contains(kApiKey);
    if (!keepsBackup && !writeAtomically(backupPath(settingsPath), current.bytes, kPrivate, error))
        return false;
    // A new file gets the key, so it starts private; an existing one keeps its permissions.
    return writeAtomically(settingsPath, serialized(withEntries(current.object, baseUrl, key)),
                           current.exists ? std::nullopt : std::optional(kPrivate), error);
}

std::optional<ClaudeCodeSettings::Undone> ClaudeCodeSettings::undo(const QString &settingsPath,
                                                                   QString *error)
{
    SettingsFile current;
    if (!readSettings(settingsPath, &current, error))
        return std::nullopt;
    const QString backup = backupPath(settingsPath);
    QByteArray backupBytes;
    const bool isBackedUp = hasBackup(settingsPath);
    if (isBackedUp) {
        QFile file(backup);
        if (!file.open(QIODevice::ReadOnly)) {
            *error = tr("Cannot read %1: %2").arg(backup, file.errorString());
            return std::nullopt;
        }
        backupBytes = file.readAll();
        if (!current.exists || derivesFrom(current, backupBytes)) {
            if (backupBytes.isEmpty()) {
                if (!removeFile(settingsPath, error) || !removeFile(backup, error))
                    return std::nullopt;
                return Undone::RemovedFile;
            }
            if (!writeAtomically(settingsPath, backupBytes,
                                 current.exists ? std::nullopt : std::optional(kPrivate), error)
                || !removeFile(backup, error))
                return std::nullopt;
            return Undone::RestoredBackup;
        }
    }

    // The file changed since apply(): take out only what Tollgate put in, giving each entry
    // back the value it had before when the backup has one.
    QJsonParseError parseError;
    const QJsonObject before = parseObject(backupBytes, &parseError).value_or(QJsonObject());
    const QJsonObject envBefore = before.value(kEnv).toObject();
    QJsonObject env = current.object.value(kEnv).toObject();
    bool isChanged = false;
    for (const QString &key : {kBaseUrl, kApiKey}) {
        if (!env.contains(key) || !looksLikeTollgates(key, env.value(key)))
            continue;
        if (envBefore.contains(key))
            env.insert(key, envBefore.value(key));
        else
            env.remove(key);
        isChanged = true;
    }
    if (!isChanged) {
        if (!removeFile(backup, error))
            return std::nullopt;
        return Undone::NothingToUndo;
    }
    QJsonObject settings = current.object;
    if (env.isEmpty() && !before.contains(kEnv))
        settings.remove(kEnv);
    else
        settings.insert(kEnv, env);
    if (!writeAtomically(settingsPath, serialized(settings), std::nullopt, error)
        || !removeFile(backup, error))
        return std::nullopt;
    return Undone::RemovedEntries;
}

bool ClaudeCodeSettings::isApplied(const QString &settingsPath, const QString &baseUrl,
                                   const QByteArray &apiKey)
{
    SettingsFile current;
    QString ignored;
    if (!readSettings(settingsPath, &current, &ignored) || !current.exists)
        return false;
    const QJsonObject env = current.object.value(kEnv).toObject();
    return env.value(kBaseUrl) == QJsonValue(baseUrl)
        && env.value(kApiKey) == QJsonValue(QString::fromUtf8(apiKey));
}

bool ClaudeCodeSettings::hasBackup(const QString &settingsPath)
{
    return QFileInfo::exists(backupPath(settingsPath));
}

} // namespace tollgate
