#include "StoreConfig.h"

#include <QDir>
#include <QRegularExpression>
#include <QStringList>
#include <cctype>

namespace tollgate {

namespace {

// libpq's connection parameters (PostgreSQL 16) besides the five StoreConfig keeps in
// fields. `replication` is left out: a replication connection cannot run the log's SQL.
const QStringList kLibpqOptions = {
    QStringLiteral("hostaddr"),
    QStringLiteral("passfile"),
    QStringLiteral("require_auth"),
    QStringLiteral("channel_binding"),
    QStringLiteral("connect_timeout"),
    QStringLiteral("client_encoding"),
    QStringLiteral("options"),
    QStringLiteral("application_name"),
    QStringLiteral("fallback_application_name"),
    QStringLiteral("keepalives"),
    QStringLiteral("keepalives_idle"),
    QStringLiteral("keepalives_interval"),
    QStringLiteral("keepalives_count"),
    QStringLiteral("tcp_user_timeout"),
    QStringLiteral("sslmode"),
    QStringLiteral("requiressl"),
    QStringLiteral("sslcompression"),
    QStringLiteral("sslcert"),
    QStringLiteral("sslkey"),
    QStringLiteral("sslpassword"),
    QStringLiteral("sslcertmode"),
    QStringLiteral("sslrootcert"),
    QStringLiteral("sslcrl"),
    QStringLiteral("sslcrldir"),
    QStringLiteral("sslsni"),
    QStringLiteral("requirepeer"),
    QStringLiteral("ssl_min_protocol_version"),
    QStringLiteral("ssl_max_protocol_version"),
    QStringLiteral("gssencmode"),
    QStringLiteral("krbsrvname"),
    QStringLiteral("gsslib"),
    QStringLiteral("gssdelegation"),
    QStringLiteral("service"),
    QStringLiteral("target_session_attrs"),
    QStringLiteral("load_balance_hosts"),
};

const QStringList kSslModes = {
    QStringLiteral("disable"), QStringLiteral("allow"),     QStringLiteral("prefer"),
    QStringLiteral("require"), QStringLiteral("verify-ca"), QStringLiteral("verify-full"),
};

// Parameters whose value libpq reads as a number of seconds or a count.
const QStringList kNumericOptions = {
    QStringLiteral("connect_timeout"),  QStringLiteral("keepalives"),
    QStringLiteral("keepalives_idle"),  QStringLiteral("keepalives_interval"),
    QStringLiteral("keepalives_count"), QStringLiteral("tcp_user_timeout"),
};

const QString kUrlSchemes[] = {QStringLiteral("postgresql://"), QStringLiteral("postgres://")};

bool fail(QString *error, const QString &message)
{
    if (error)
        *error = QStringLiteral("PostgreSQL connection string: ") + message;
    return false;
}

std::optional<int> portNumber(const QString &text)
{
    static const QRegularExpression digits(QStringLiteral("^[0-9]{1,5}$"));
    if (!digits.match(text).hasMatch())
        return std::nullopt;
    const int port = text.toInt();
    if (port < 1 || port > 65535)
        return std::nullopt;
    return port;
}

// libpq percent-decodes every part of a URL; a '%' not followed by two hex digits is an
// error there too, rather than a literal character.
std::optional<QString> percentDecoded(QStringView text)
{
    const QByteArray utf8 = text.toUtf8();
    for (qsizetype i = 0; i < utf8.size(); ++i) {
        if (utf8[i] != '%')
            continue;
        if (i + 2 >= utf8.size() || !isxdigit(uchar(utf8[i + 1])) || !isxdigit(uchar(utf8[i + 2])))
            return std::nullopt;
        i += 2;
    }
    return QString::fromUtf8(QByteArray::fromPercentEncoding(utf8));
}

// The value of one parameter, wherever it came from (URL part, query item, key=value).
bool apply(StoreConfig &config, const QString &keyword, const QString &value, QString *error)
{
    if (keyword == QLatin1String("host")) {
        if (value.contains(QLatin1Char(',')))
            return fail(error, QStringLiteral("several hosts are not supported; give one host"));
        config.host = value;
    } else if (keyword == QLatin1String("port")) {
        const std::optional<int> port = portNumber(value);
        if (!port)
            return fail(
                error,
                QStringLiteral("port \"%1\" is not a number between 1 and 65535").arg(value));
        config.port = *port;
    } else if (keyword == QLatin1String("dbname")) {
        config.databaseName = value;
    } else if (keyword == QLatin1String("user")) {
        config.userName = value;
    } else if (keyword == QLatin1String("password")) {
        config.password = value;
    } else {
        if (!StoreConfig::isValidOption(keyword, value, error))
            return false;
        config.setOption(keyword, value);
    }
    return true;
}

bool parseUrlQuery(StoreConfig &config, QStringView query, QString *error)
{
    for (QStringView item : query.split(QLatin1Char('&'), Qt::SkipEmptyParts)) {
        const qsizetype equals = item.indexOf(QLatin1Char('='));
        if (equals == 0)
            return fail(error, QStringLiteral("a query parameter has no name"));
        if (equals < 0)
            return fail(error, QStringLiteral("query parameter \"%1\" has no value").arg(item));
        const std::optional<QString> keyword = percentDecoded(item.left(equals));
        const std::optional<QString> value = percentDecoded(item.mid(equals + 1));
        if (!keyword || !value)
            return fail(error, QStringLiteral("a query parameter has an invalid %-escape"));
        // JDBC's spelling, which libpq also accepts.
        if (*keyword == QLatin1String("ssl") && *value == QLatin1String("true")) {
            config.setOption(QStringLiteral("sslmode"), QStringLiteral("require"));
            continue;
        }
        if (!apply(config, *keyword, *value, error))
            return false;
    }
    return true;
}

bool parseHostAndPort(StoreConfig &config, QStringView hostPort, QString *error)
{
    if (hostPort.contains(QLatin1Char(',')))
        return fail(error, QStringLiteral("several hosts are not supported; give one host"));
    QStringView host = hostPort;
    QStringView port;
    if (hostPort.startsWith(QLatin1Char('['))) {
        const qsizetype close = hostPort.indexOf(QLatin1Char(']'));
        if (close < 0)
            return fail(error, QStringLiteral("an IPv6 address misses its closing ']'"));
        host = hostPort.mid(1, close - 1);
        const QStringView after = hostPort.mid(close + 1);
        if (!after.isEmpty() && !after.startsWith(QLatin1Char(':')))
            return fail(error, QStringLiteral("unexpected text after the IPv6 address"));
        port = after.mid(1);
    } else {
        const qsizetype colon = hostPort.indexOf(QLatin1Char(':'));
        if (colon >= 0) {
            host = hostPort.left(colon);
            port = hostPort.mid(colon + 1);
        }
    }
    const std::optional<QString> decodedHost = percentDecoded(host);
    if (!decodedHost)
        return fail(error, QStringLiteral("the host has an invalid %-escape"));
    config.host = *decodedHost;
    if (hostPort.endsWith(QLatin1Char(':')) || !port.isEmpty())
        return apply(config, QStringLiteral("port"), port.toString(), error);
    return true;
}

// postgresql://[user[:password]@][host][:port][/dbname][?param=value&...]
bool parseUrl(StoreConfig &config, QStringView url, QString *error)
{
    const qsizetype question = url.indexOf(QLatin1Char('?'));
    const QStringView query = question < 0 ? QStringView() : url.mid(question + 1);
    const QStringView beforeQuery = question < 0 ? url : url.left(question);
    const qsizetype slash = beforeQuery.indexOf(QLatin1Char('/'));
    const QStringView authority = slash < 0 ? beforeQuery : beforeQuery.left(slash);
    const QStringView path = slash < 0 ? QStringView() : beforeQuery.mid(slash + 1);

    // The last '@' ends the credentials: a host never contains one.
    const qsizetype at = authority.lastIndexOf(QLatin1Char('@'));
    if (at >= 0) {
        const QStringView credentials = authority.left(at);
        const qsizetype colon = credentials.indexOf(QLatin1Char(':'));
        const std::optional<QString> user =
            percentDecoded(colon < 0 ? credentials : credentials.left(colon));
        if (!user)
            return fail(error, QStringLiteral("the user name has an invalid %-escape"));
        config.userName = *user;
        if (colon >= 0) {
            const std::optional<QString> password = percentDecoded(credentials.mid(colon + 1));
            if (!password)
                return fail(error, QStringLiteral("the password has an invalid %-escape"));
            config.password = *password;
        }
    }
    if (!parseHostAndPort(config, at < 0 ? authority : authority.mid(at + 1), error))
        return false;
    const std::optional<QString> database = percentDecoded(path);
    if (!database)
        return fail(error, QStringLiteral("the database name has an invalid %-escape"));
    config.databaseName = *database;
    return parseUrlQuery(config, query, error);
}

// libpq's conninfo syntax: keyword = value pairs separated by white space; a value is
// either a run of non-space characters or '...' quoted, \ escaping the next character in
// both.
bool parseKeyValues(StoreConfig &config, QStringView text, QString *error)
{
    qsizetype i = 0;
    const qsizetype n = text.size();
    const auto skipSpaces = [&] {
        while (i < n && text[i].isSpace())
            ++i;
    };
    for (;;) {
        skipSpaces();
        if (i >= n)
            break;
        const qsizetype keywordStart = i;
        while (i < n && !text[i].isSpace() && text[i] != QLatin1Char('='))
            ++i;
        const QString keyword = text.mid(keywordStart, i - keywordStart).toString();
        skipSpaces();
        if (keyword.isEmpty() || i >= n || text[i] != QLatin1Char('='))
            return fail(error,
                        QStringLiteral("expected keyword=value, found \"%1\"")
                            .arg(keyword.isEmpty() ? QStringLiteral("=") : keyword));
        ++i;
        skipSpaces();
        QString value;
        if (i < n && text[i] == QLatin1Char('\'')) {
            ++i;
            bool isClosed = false;
            while (i < n) {
                const QChar c = text[i++];
                if (c == QLatin1Char('\\') && i < n) {
                    value += text[i++];
                } else if (c == QLatin1Char('\'')) {
                    isClosed = true;
                    break;
                } else {
                    value += c;
                }
            }
            if (!isClosed)
                return fail(
                    error,
                    QStringLiteral("the value of \"%1\" misses its closing quote").arg(keyword));
        } else {
            while (i < n && !text[i].isSpace()) {
                if (text[i] == QLatin1Char('\\') && i + 1 < n)
                    ++i;
                value += text[i++];
            }
        }
        if (!apply(config, keyword, value, error))
            return false;
    }
    return true;
}

// libpq's own quoting for a conninfo value, which QPSQL passes through unquoted.
QString quoted(const QString &value)
{
    QString escaped = value;
    escaped.replace(QLatin1Char('\\'), QStringLiteral("\\\\"));
    escaped.replace(QLatin1Char('\''), QStringLiteral("\\'"));
    return QLatin1Char('\'') + escaped + QLatin1Char('\'');
}

} // namespace

StoreConfig StoreConfig::sqlite(const QString &path)
{
    StoreConfig config;
    config.backend = Backend::Sqlite;
    config.sqlitePath = path;
    return config;
}

bool StoreConfig::isPostgresqlString(const QString &text)
{
    const QString trimmed = text.trimmed();
    for (const QString &scheme : kUrlSchemes) {
        if (trimmed.startsWith(scheme, Qt::CaseInsensitive))
            return true;
    }
    // key=value form: its first keyword is one libpq knows (no file is named "host=...").
    static const QRegularExpression firstKeyword(QStringLiteral("^([a-z_]+)\\s*="));
    const QRegularExpressionMatch match = firstKeyword.match(trimmed);
    if (!match.hasMatch())
        return false;
    const QString keyword = match.captured(1);
    static const QStringList fieldKeywords = {QStringLiteral("host"), QStringLiteral("port"),
                                              QStringLiteral("dbname"), QStringLiteral("user"),
                                              QStringLiteral("password")};
    return fieldKeywords.contains(keyword) || kLibpqOptions.contains(keyword);
}

std::optional<StoreConfig> StoreConfig::postgresql(const QString &connection, QString *error)
{
    const QString text = connection.trimmed();
    if (text.isEmpty()) {
        fail(error, QStringLiteral("it is empty"));
        return std::nullopt;
    }
    StoreConfig config;
    config.backend = Backend::Postgresql;
    for (const QString &scheme : kUrlSchemes) {
        if (text.startsWith(scheme, Qt::CaseInsensitive)) {
            if (!parseUrl(config, QStringView(text).mid(scheme.size()), error))
                return std::nullopt;
            return config;
        }
    }
    if (text.contains(QStringLiteral("://"))) {
        fail(error, QStringLiteral("a URL must start with postgresql:// or postgres://"));
        return std::nullopt;
    }
    if (!parseKeyValues(config, text, error))
        return std::nullopt;
    return config;
}

std::optional<StoreConfig> StoreConfig::parse(const QString &text, QString *error)
{
    if (isPostgresqlString(text))
        return postgresql(text, error);
    const QString path = text.trimmed();
    if (path.isEmpty()) {
        if (error)
            *error = QStringLiteral("no request log database is given");
        return std::nullopt;
    }
    if (path.contains(QStringLiteral("://"))) {
        if (error)
            *error = QStringLiteral("unsupported database URL (use postgresql://... or the "
                                    "path of a SQLite file)");
        return std::nullopt;
    }
    return sqlite(path);
}

bool StoreConfig::isValidOption(const QString &keyword, const QString &value, QString *error)
{
    if (!kLibpqOptions.contains(keyword))
        return fail(error, QStringLiteral("unknown parameter \"%1\"").arg(keyword));
    // QPSQL turns every ';' of its connect options into a space, which would change the value.
    if (value.contains(QLatin1Char(';')))
        return fail(error, QStringLiteral("the value of \"%1\" must not contain ';'").arg(keyword));
    if (keyword == QLatin1String("sslmode") && !kSslModes.contains(value))
        return fail(error,
                    QStringLiteral("sslmode \"%1\" is not one of %2")
                        .arg(value, kSslModes.join(QStringLiteral(", "))));
    if (kNumericOptions.contains(keyword)) {
        static const QRegularExpression number(QStringLiteral("^-?[0-9]+$"));
        if (!number.match(value).hasMatch())
            return fail(error, QStringLiteral("%1 \"%2\" is not a number").arg(keyword, value));
    }
    return true;
}

QString StoreConfig::option(const QString &keyword) const
{
    for (const auto &[name, value] : options) {
        if (name == keyword)
            return value;
    }
    return {};
}

void StoreConfig::setOption(const QString &keyword, const QString &value)
{
    for (auto &[name, existing] : options) {
        if (name == keyword) {
            existing = value;
            return;
        }
    }
    options.append({keyword, value});
}

QString StoreConfig::connectOptions() const
{
    QStringList parts;
    bool hasApplicationName = false;
    for (const auto &[name, value] : options) {
        parts.append(name + QLatin1Char('=') + quoted(value));
        hasApplicationName = hasApplicationName || name == QLatin1String("application_name");
    }
    // Names the connection in pg_stat_activity, so a DBA sees who holds it.
    if (!hasApplicationName)
        parts.append(QStringLiteral("application_name='tollgate'"));
    return parts.join(QLatin1Char(';'));
}

QString StoreConfig::displayName() const
{
    if (backend == Backend::Sqlite)
        return QDir::toNativeSeparators(sqlitePath);
    QString text = QStringLiteral("postgresql://");
    if (!userName.isEmpty())
        text += userName + QLatin1Char('@');
    text += host.contains(QLatin1Char(':')) ? QLatin1Char('[') + host + QLatin1Char(']') : host;
    if (port > 0)
        text += QLatin1Char(':') + QString::number(port);
    text += QLatin1Char('/') + databaseName;
    return text;
}

} // namespace tollgate
