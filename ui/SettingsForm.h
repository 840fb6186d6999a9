#pragma once

#include "config/ConfigFile.h"
#include "rewrite/CacheInjector.h"

#include <QCoreApplication>
#include <QJsonObject>
#include <QMap>
#include <QString>

namespace tollgate {

// What the Settings page edits, without the widgets: the gateway's settings as text the
// user typed and the prompt-cache policy, read from and written back to the settings file
// (ConfigFile), checked field by field before anything is written. Only the keys the user changed
// are written, so the rest of the file (prices, timeouts, a newer version's keys) keeps its exact
// values.
//
// A PostgreSQL password is kept apart from the connection: the connection is shown as a
// URL without it, and the password only in a masked field.
class SettingsForm
{
    Q_DECLARE_TR_FUNCTIONS(SettingsForm)

public:
    enum class Field {
        Listen,
        Port,
        Upstream,
        SqlitePath,
        PostgresqlConnection,
        RetentionDays,
        PricesFile,
        BillingTag,
    };
    enum class Storage { Sqlite, Postgresql, Off };

    struct Values
    {
        QString listen;
        QString port;
        QString upstream;
        Storage storage = Storage::Sqlite;
        QString sqlitePath; // also filled while the storage is another, so switching back shows it
        QString postgresqlConnection; // a postgresql:// URL or key=value text, no password
        QString postgresqlPassword;
        QString retentionDays;
        QString pricesFile; // empty: none
        QString billingTag; // empty: none
        // "prompt_cache": whether Tollgate adds cache markers, and the lifetime it asks for.
        bool injectsCache = true;
        CacheInjector::Ttl cacheTtl = CacheInjector::Ttl::FiveMinutes;

        bool operator==(const Values &other) const = default;
    };
    using Errors = QMap<Field, QString>; // a message per field that is wrong, for people

    enum class SaveResult {
        Written, // the changed keys are in the file
        Unchanged, // nothing differed from the file: nothing was written
        Invalid, // a field is wrong; see the errors; nothing was written
        Failed, // the file could not be read or written; see the error
    };

    // defaultDatabasePath: the SQLite file the gateway uses when the settings name none.
    explicit SettingsForm(const QString &configPath,
                          const QString &defaultDatabasePath = ConfigFile::defaultDatabasePath());

    QString configPath() const { return m_configPath; }

    // Reads the file (a missing one gives the defaults). On failure the values are those
    // of the last successful load.
    bool load(QString *error);
    const Values &loaded() const { return m_loaded; }
    bool isModified(const Values &edited) const { return edited != m_loaded; }

    // Checks, then writes what differs from the loaded values through ConfigFile::save();
    // when written, the file is read back, so loaded() shows what the gateway will read.
    SaveResult save(const Values &edited, Errors *errors, QString *error);
    // The settings keys the last save() wrote (changes() form); empty unless it was Written.
    const QJsonObject &lastChanges() const { return m_lastChanges; }

    // The values shown for a settings object; unset keys show the gateway's defaults.
    static Values fromSettings(const QJsonObject &settings, const QString &defaultDatabasePath);
    static Errors validate(const Values &values);
    static QString validateField(Field field, const Values &values); // empty when right
    // The settings keys (ConfigFile::save() form) that differ between the two; null values
    // remove a key. edited must be valid.
    static QJsonObject changes(const Values &loaded, const Values &edited);
    // Whether a running gateway must restart to use these changes: it reads every setting at
    // start, except the prompt cache, which it takes while running.
    static bool needsRestart(const QJsonObject &changes);
    static bool changesPromptCache(const QJsonObject &changes);
    static CacheInjector::Policy promptCachePolicy(const Values &values);

    // A PostgreSQL connection as a postgresql:// URL, every part percent-encoded, with the
    // password only when asked for.
    static QString postgresqlUrl(const StoreConfig &store, bool withPassword);

private:
    QString m_configPath;
    QString m_defaultDatabasePath;
    Values m_loaded;
    QJsonObject m_lastChanges;
};

} // namespace tollgate
