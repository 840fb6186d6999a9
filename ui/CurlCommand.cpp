#include "CurlCommand.h"

#include "http/HeaderList.h"
#include "keys/SecretRedactor.h"

#include <QRegularExpression>
#include <QStringList>

namespace tollgate {

namespace {

constexpr auto kIndent = "  ";

bool isSafeWord(const QString &text)
{
    static const QRegularExpression safe(QStringLiteral("^[A-Za-z0-9_@%+=:,./-]+$"));
    return safe.match(text).hasMatch();
}

// "Name: value\r\n" lines as the log keeps them.
QList<HeaderList::Field> headerFields(const QByteArray &block)
{
    QList<HeaderList::Field> fields;
    for (const QByteArray &line : block.split('\n')) {
        const QByteArray trimmed = line.endsWith('\r') ? line.chopped(1) : line;
        const qsizetype colon = trimmed.indexOf(':');
        if (colon <= 0)
            continue;
        fields.append({trimmed.left(colon).trimmed(), trimmed.mid(colon + 1).trimmed()});
    }
    return fields;
}

} // namespace

QString CurlCommand::shellQuote(const QString &text)
{
    if (isSafeWord(text))
        return text;
    QString quoted = text;
    quoted.replace(u'\'', QStringLiteral("'\\''"));
    return u'\'' + quoted + u'\'';
}

bool CurlCommand::isLeftOut(const QByteArray &name)
{
    return SecretRedactor::isCredentialHeader(name) || HeaderList::nameEquals(name, "host")
        || HeaderList::nameEquals(name, "content-length") || HeaderList::isHopByHop(name, {});
}

QString CurlCommand::build(const RequestRecord &record, const QString &baseUrl)
{
    // The log masks credentials already; key-shaped text is redacted again here because
    // the command is meant to be pasted into chats and tickets.
    const SecretRedactor redactor;
    const QList<HeaderList::Field> fields = headerFields(record.requestHeaders);
    QList<QByteArray> connectionTokens;
    for (const HeaderList::Field &field : fields) {
        if (HeaderList::nameEquals(field.name, "connection")) {
            for (const QByteArray &token : field.value.split(','))
                connectionTokens.append(token.trimmed());
        }
    }

    QString base = baseUrl.trimmed();
    while (base.endsWith(u'/'))
        base.chop(1);
    const QString target =
        record.target.isEmpty() ? QStringLiteral("/") : QString::fromUtf8(record.target);
    const QByteArray method = record.method.isEmpty() ? QByteArray("POST") : record.method;
    const bool hasBody = method != "GET" && method != "HEAD";
    const bool isBodyLogged = !record.storedRequestBody.isEmpty();

    QStringList lines;
    QString prologue;
    if (hasBody && !isBodyLogged) {
        prologue = u"# "
            + tr("The request body was not logged (body logging is off in Tollgate's "
                 "settings): save it as %1 before running this command.")
                  .arg(QLatin1String(kBodyFile))
            + u'\n';
    }
    lines.append(QStringLiteral("curl ") + shellQuote(base + target));
    // --data-binary implies POST; any other method is named.
    if (hasBody ? method != "POST" : method != "GET")
        lines.append(QStringLiteral("-X ") + shellQuote(QString::fromLatin1(method)));
    if (record.isStreaming)
        lines.append(QStringLiteral("--no-buffer"));
    for (const HeaderList::Field &field : fields) {
        if (isLeftOut(field.name) || HeaderList::isHopByHop(field.name, connectionTokens))
            continue;
        const QByteArray value = redactor.redact(field.value);
        lines.append(QStringLiteral("-H ")
                     + shellQuote(QString::fromUtf8(QByteArray(field.name + ": " + value))));
    }
    // Double quotes: the shell expands the variable when the command runs, so the key never
    // appears in the text.
    lines.append(QStringLiteral("-H \"x-api-key: $ANTHROPIC_API_KEY\""));
    if (hasBody) {
        if (isBodyLogged) {
            lines.append(
                QStringLiteral("--data-binary ")
                + shellQuote(QString::fromUtf8(redactor.redact(record.storedRequestBody))));
        } else {
            lines.append(QStringLiteral("--data-binary @") + QLatin1String(kBodyFile));
        }
    }
    return prologue + lines.join(QString(QStringLiteral(" \\\n") + QLatin1String(kIndent)));
}

} // namespace tollgate
