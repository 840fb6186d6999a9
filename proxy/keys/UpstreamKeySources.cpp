#include "UpstreamKeySources.h"

#include "KeyStore.h"

#include <QFile>
#include <QProcessEnvironment>
#include <algorithm>
#include <optional>

#ifndef _WIN32
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace tollgate {

namespace {

const QString kDefaultAlias = QStringLiteral("default");

void setError(QString *error, const QString &text)
{
    if (error)
        *error = text;
}

// An API key travels in an HTTP header: visible ASCII, no spaces. No quotes either: they
// would come from a shell or .env habit and make the key fail upstream with a 401.
bool isKeyText(QByteArrayView key)
{
    return std::all_of(key.begin(), key.end(),
                       [](char c) { return c > ' ' && c < 0x7f && c != '"' && c != '\''; });
}

// "alias=key" (spaces around either side ignored); `where` is "entry 2" or "line 5".
std::optional<UpstreamKey> parseEntry(QByteArrayView entry, const QString &where, QString *problem)
{
    const qsizetype equals = entry.indexOf('=');
    if (equals < 0) {
        *problem = QStringLiteral("%1 has no '=': write alias=key").arg(where);
        return std::nullopt;
    }
    const QString alias = QString::fromUtf8(entry.first(equals).trimmed());
    // The key is everything after the first '=', so a key may itself contain one.
    const QByteArray secret = entry.sliced(equals + 1).trimmed().toByteArray();
    if (alias.isEmpty()) {
        *problem = QStringLiteral("%1 has no alias before '='").arg(where);
        return std::nullopt;
    }
    if (const QString aliasProblem = KeyStore::aliasProblem(alias); !aliasProblem.isEmpty()) {
        *problem = QStringLiteral("%1: invalid alias %2: %3")
                       .arg(where, KeyStore::quotedAlias(alias), aliasProblem);
        return std::nullopt;
    }
    if (secret.isEmpty()) {
        *problem = QStringLiteral("%1: the key for alias %2 is empty")
                       .arg(where, KeyStore::quotedAlias(alias));
        return std::nullopt;
    }
    if (!isKeyText(secret)) {
        *problem = QStringLiteral("%1: the key for alias %2 contains spaces, quotes or "
                                  "other characters an API key cannot have")
                       .arg(where, KeyStore::quotedAlias(alias));
        return std::nullopt;
    }
    return UpstreamKey {alias, secret};
}

// Adds the entry unless its alias is taken; `wheres` holds each accepted entry's position.
bool append(QList<UpstreamKey> &keys, QStringList &wheres, UpstreamKey key, const QString &where,
            QString *problem)
{
    const auto taken = std::find_if(keys.cbegin(), keys.cend(),
                                    [&key](const UpstreamKey &k) { return k.alias == key.alias; });
    if (taken != keys.cend()) {
        *problem = QStringLiteral("%1: alias %2 is used twice (first in %3)")
                       .arg(where, KeyStore::quotedAlias(key.alias), wheres[taken - keys.cbegin()]);
        return false;
    }
    keys.append(std::move(key));
    wheres.append(where);
    return true;
}

QList<UpstreamKey> parseLines(const QByteArray &content, const QString &path, QString *error)
{
    QByteArray text = content;
    if (text.startsWith("\xef\xbb\xbf")) // a UTF-8 byte order mark from a Windows editor
        text.remove(0, 3);
    const QList<QByteArray> lines = text.split('\n');
    QList<UpstreamKey> keys;
    QStringList wheres;
    for (qsizetype i = 0; i < lines.size(); ++i) {
        // trimmed() also drops the '\r' of CRLF line ends.
        const QByteArrayView line = QByteArrayView(lines[i]).trimmed();
        if (line.isEmpty() || line.startsWith('#'))
            continue;
        const QString where = QStringLiteral("line %1").arg(i + 1);
        QString problem;
        std::optional<UpstreamKey> key = parseEntry(line, where, &problem);
        if (!key || !append(keys, wheres, std::move(*key), where, &problem)) {
            setError(error, QStringLiteral("%1: %2").arg(path, problem));
            return {};
        }
    }
    if (keys.isEmpty()) {
        setError(error, QStringLiteral("%1 holds no keys: write one alias=key per line").arg(path));
        return {};
    }
    setError(error, {});
    return keys;
}

// The file's bytes once it is known to be private; nullopt and an error when it is not.
std::optional<QByteArray> readPrivateFile(const QString &path, QString *error)
{
#ifndef _WIN32
    // O_NOFOLLOW refuses a symbolic link (whose target could change under us, and whose
    // own mode says nothing); O_NONBLOCK keeps a FIFO from blocking the open. The checks
    // below run on the descriptor that is then read, not on the path a second time.
    const QByteArray nativePath = QFile::encodeName(path);
    const int fd = ::open(nativePath.constData(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        const int openError = errno;
        if (openError == ELOOP || openError == EMLINK)
            setError(error,
                     QStringLiteral("refusing the key file %1: it is a symbolic link; give "
                                    "the path of the file itself")
                         .arg(path));
        else
            setError(error,
                     QStringLiteral("cannot open the key file %1: %2")
                         .arg(path, qt_error_string(openError)));
        return std::nullopt;
    }
    QFile file;
    if (!file.open(fd, QIODevice::ReadOnly, QFileDevice::AutoCloseHandle)) {
        ::close(fd);
        setError(error,
                 QStringLiteral("cannot open the key file %1: %2").arg(path, file.errorString()));
        return std::nullopt;
    }
    struct stat status = {};
    if (::fstat(fd, &status) != 0) {
        setError(
            error,
            QStringLiteral("cannot read the key file %1: %2").arg(path, qt_error_string(errno)));
        return std::nullopt;
    }
    if (!S_ISREG(status.st_mode)) {
        setError(error,
                 QStringLiteral("refusing the key file %1: it is not a regular file").arg(path));
        return std::nullopt;
    }
    if (status.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
        setError(
            error,
            QStringLiteral("refusing the key file %1: other users can read or write it "
                           "(mode %2); make it private with: chmod 600 %1")
                .arg(path,
                     QStringLiteral("%1").arg(uint(status.st_mode & 07777), 4, 8, QChar(u'0'))));
        return std::nullopt;
    }
#else
    // Windows: the file's ACL decides who may read it; a user profile's files are private.
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        setError(error,
                 QStringLiteral("cannot open the key file %1: %2").arg(path, file.errorString()));
        return std::nullopt;
    }
#endif
    QByteArray content = file.read(UpstreamKeySources::kMaxFileSize + 1);
    if (file.error() != QFileDevice::NoError) {
        setError(error,
                 QStringLiteral("cannot read the key file %1: %2").arg(path, file.errorString()));
        return std::nullopt;
    }
    return content;
}

} // namespace

QList<UpstreamKey> UpstreamKeySources::parseList(const QByteArray &value, QString *error,
                                                 QLatin1StringView variable)
{
    const auto fail = [error, variable](const QString &problem) {
        setError(error, QStringLiteral("%1: %2").arg(variable, problem));
        return QList<UpstreamKey> {};
    };
    if (value.trimmed().isEmpty())
        return fail(QStringLiteral("the variable is set but holds no keys; write "
                                   "alias=key, alias=key"));
    QList<UpstreamKey> keys;
    QStringList wheres;
    const QList<QByteArray> entries = value.split(',');
    for (qsizetype i = 0; i < entries.size(); ++i) {
        const QByteArrayView entry = QByteArrayView(entries[i]).trimmed();
        const QString where = QStringLiteral("entry %1").arg(i + 1);
        if (entry.isEmpty())
            return fail(QStringLiteral("%1 is empty").arg(where));
        QString problem;
        std::optional<UpstreamKey> key = parseEntry(entry, where, &problem);
        if (!key || !append(keys, wheres, std::move(*key), where, &problem))
            return fail(problem);
    }
    setError(error, {});
    return keys;
}

QList<UpstreamKey> UpstreamKeySources::parseSingle(const QByteArray &value, QString *error)
{
    const QByteArray secret = value.trimmed();
    if (secret.isEmpty()) {
        setError(error, QStringLiteral("%1 is set but empty").arg(kSingleVariable));
        return {};
    }
    if (!isKeyText(secret)) {
        setError(error,
                 QStringLiteral("%1 contains spaces, quotes or other characters an API key cannot "
                                "have "
                                "(for several keys use %2=alias=key, alias=key)")
                     .arg(kSingleVariable, kListVariable));
        return {};
    }
    setError(error, {});
    return {UpstreamKey {kDefaultAlias, secret}};
}

QList<UpstreamKey> UpstreamKeySources::readFile(const QString &path, QString *error)
{
    const std::optional<QByteArray> content = readPrivateFile(path, error);
    if (!content)
        return {};
    if (content->size() > kMaxFileSize) {
        setError(error,
                 QStringLiteral("refusing the key file %1: it is larger than %2 bytes")
                     .arg(path)
                     .arg(kMaxFileSize));
        return {};
    }
    return parseLines(*content, path, error);
}

QList<UpstreamKey> UpstreamKeySources::fromEnvironment(const QProcessEnvironment &environment,
                                                       QString *error)
{
    const QString list(kListVariable);
    const QString single(kSingleVariable);
    if (environment.contains(list) && environment.contains(single)) {
        setError(error, QStringLiteral("both %1 and %2 are set: keep only one").arg(list, single));
        return {};
    }
    if (environment.contains(list))
        return parseList(environment.value(list).toUtf8(), error);
    if (environment.contains(single))
        return parseSingle(environment.value(single).toUtf8(), error);
    setError(error, {});
    return {};
}

} // namespace tollgate
