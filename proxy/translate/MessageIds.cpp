#include "MessageIds.h"

#include <QCryptographicHash>
#include <QRandomGenerator>

namespace tollgate {

namespace {

constexpr qsizetype kMadeUpHexDigits = 24;

// Anthropic ids match [A-Za-z0-9_-]+; SDKs and Claude Code compare them as strings.
QString idSafe(QStringView id)
{
    QString safe;
    safe.reserve(id.size());
    for (const QChar c : id) {
        if ((c >= QLatin1Char('a') && c <= QLatin1Char('z'))
            || (c >= QLatin1Char('A') && c <= QLatin1Char('Z'))
            || (c >= QLatin1Char('0') && c <= QLatin1Char('9')) || c == QLatin1Char('_')
            || c == QLatin1Char('-')) {
            safe.append(c);
        }
    }
    return safe;
}

QStringView withoutPrefix(const QString &id, QLatin1StringView prefix)
{
    QStringView view(id);
    return view.startsWith(prefix) ? view.mid(prefix.size()) : view;
}

} // namespace

QString MessageIds::messageId(const QString &vendorId, QByteArrayView seed)
{
    const QString suffix = idSafe(withoutPrefix(vendorId, QLatin1StringView("chatcmpl-")));
    if (suffix.isEmpty())
        return QLatin1StringView("msg_tg_") + madeUpSuffix(seed);
    return QLatin1StringView("msg_") + suffix;
}

QString MessageIds::chatCompletionId(const QString &messageId, QByteArrayView seed)
{
    const QString suffix = idSafe(withoutPrefix(messageId, QLatin1StringView("msg_")));
    if (suffix.isEmpty())
        return QLatin1StringView("chatcmpl-tg_") + madeUpSuffix(seed);
    return QLatin1StringView("chatcmpl-") + suffix;
}

QString MessageIds::toolUseId(const QString &messageId, int position)
{
    return QLatin1StringView("toolu_")
        + withoutPrefix(messageId, QLatin1StringView("msg_")).toString() + QLatin1Char('_')
        + QString::number(position);
}

QString MessageIds::madeUpSuffix(QByteArrayView seed)
{
    QByteArray bytes;
    if (seed.isEmpty()) {
        quint32 words[3];
        QRandomGenerator::global()->fillRange(words);
        bytes = QByteArray(reinterpret_cast<const char *>(words), sizeof(words));
    } else {
        bytes = QCryptographicHash::hash(seed, QCryptographicHash::Sha256);
    }
    return QString::fromLatin1(bytes.toHex().left(kMadeUpHexDigits));
}

} // namespace tollgate
