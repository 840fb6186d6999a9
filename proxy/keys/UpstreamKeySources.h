#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

class QProcessEnvironment;

namespace tollgate {

// One upstream API key and the alias it goes by in the settings, the key pool and the log.
struct UpstreamKey
{
    QString alias;
    QByteArray secret;

    friend bool operator==(const UpstreamKey &, const UpstreamKey &) = default;
};

// Upstream keys for a headless server that has no keychain: the TOLLGATE_UPSTREAM_KEYS
// variable ("work=sk-ant-…, ci=sk-ant-…"), the one-key TOLLGATE_UPSTREAM_KEY (alias
// "default"), or a key file with one alias=key per line that only its owner may read or
// write. Pure functions: the caller passes the variables' values and the path, so nothing
// here reads the process environment.
//
// Each returns the keys in order, or an empty list and an error. Aliases follow the
// keychain's rule (KeyStore::aliasProblem); keys are visible ASCII without spaces. Error
// texts name the entry's position and its alias, never a key.
class UpstreamKeySources
{
public:
    static constexpr QLatin1StringView kListVariable {"TOLLGATE_UPSTREAM_KEYS"};
    static constexpr QLatin1StringView kSingleVariable {"TOLLGATE_UPSTREAM_KEY"};
    static constexpr qint64 kMaxFileSize = 1024 * 1024;

    // "alias=key, alias=key": spaces around either side are ignored. variable names the
    // source in errors; the same form gives virtual keys their secrets
    // (TOLLGATE_VIRTUAL_KEYS), with the alias a pair's key goes by.
    static QList<UpstreamKey> parseList(const QByteArray &value, QString *error,
                                        QLatin1StringView variable = kListVariable);
    // A bare key, under the alias "default".
    static QList<UpstreamKey> parseSingle(const QByteArray &value, QString *error);
    // One alias=key per line; blank lines and lines starting with '#' are skipped. On Unix
    // the file must be a regular file (not a symbolic link) that group and others can
    // neither read nor write (chmod 600).
    static QList<UpstreamKey> readFile(const QString &path, QString *error);
    // The keys the environment gives, from one of the two variables (both set is an error);
    // an empty list without an error when it sets neither.
    static QList<UpstreamKey> fromEnvironment(const QProcessEnvironment &environment,
                                              QString *error);
};

} // namespace tollgate
