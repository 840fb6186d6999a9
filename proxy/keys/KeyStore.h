#pragma once

#include <QByteArray>
#include <QString>
#include <chrono>
#include <optional>

namespace tollgate {

// The OS keychain (Keychain, Credential Manager, Secret Service/KWallet) through QtKeychain:
// the only place Tollgate keeps upstream API keys and virtual keys. One entry per alias,
// named "upstream/<alias>" or "virtual/<alias>" under one service name ("Tollgate").
//
// Calls are synchronous and may come from any thread, with or without an event loop: the
// jobs run on one process-wide keychain thread and the caller waits for the answer. That
// thread exists because QtKeychain 0.13 queues every job in a single QObject that binds to
// the first thread using it (jobs from a second thread stall once the first one is gone),
// and because its Secret Service backend answers through GLib callbacks that the proxy
// thread's epoll dispatcher never runs. So all keychain access goes through this class.
//
// There is no plain-text fallback: when no keychain service is running or the keychain is
// locked, the calls fail with a text that says what to do. Error texts name the alias,
// never the secret.
class KeyStore
{
public:
    enum class Kind {
        Upstream, // a vendor API key Tollgate sends upstream
        Virtual, // a key Tollgate hands to its own clients
    };

    static constexpr int kMaxAliasLength = 64;
    // A keychain may show an unlock prompt first; the user gets this long to answer it.
    static constexpr std::chrono::seconds kAnswerTimeout {120};

    // A throwaway service name keeps tests away from the user's real entries.
    explicit KeyStore(QString service = QStringLiteral("Tollgate"));

    QString service() const { return m_service; }

    // Creates or replaces the entry.
    bool store(Kind kind, const QString &alias, const QByteArray &secret, QString *error);
    // The secret; nullopt without an error when there is no such entry, nullopt with an
    // error when the keychain cannot be read. (libsecret reports an entry in a locked
    // keyring whose unlock prompt could not be shown as missing, not as an error.)
    std::optional<QByteArray> load(Kind kind, const QString &alias, QString *error);
    // Removing an entry that does not exist succeeds.
    bool remove(Kind kind, const QString &alias, QString *error);

    // Why alias cannot name a key, or an empty string when it can: 1 to 64 characters from
    // A-Z a-z 0-9 . _ - and not shaped like an API key (aliases are shown and logged, and
    // the log redactor would mask one that looks like a key). The text never quotes it.
    static QString aliasProblem(const QString &alias);
    static bool isValidAlias(const QString &alias) { return aliasProblem(alias).isEmpty(); }
    // The alias in quotes when it is safe to show (short, printable, not key-shaped);
    // otherwise a placeholder, so an error text never echoes a pasted key.
    static QString quotedAlias(const QString &alias);

    // "upstream/work": the entry's name in the keychain.
    static QString entryName(Kind kind, const QString &alias);

private:
    QString m_service;
};

} // namespace tollgate
