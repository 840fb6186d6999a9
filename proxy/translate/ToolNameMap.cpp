#include "ToolNameMap.h"

#include <QCryptographicHash>

namespace tollgate {

namespace {

constexpr qsizetype kHashHexDigits = 8;

} // namespace

QString ToolNameMap::shorten(const QString &name)
{
    if (name.size() <= kMaxNameLength)
        return name;
    const QByteArray digest =
        QCryptographicHash::hash(name.toUtf8(), QCryptographicHash::Sha256).toHex();
    qsizetype kept = kMaxNameLength - kHashHexDigits - 1;
    // A cut between the halves of a surrogate pair would leave a lone surrogate, which
    // QJsonDocument writes as "\ud83d" and strict JSON parsers refuse: the pair goes whole.
    if (name.at(kept - 1).isHighSurrogate())
        --kept;
    const QString shortened =
        name.left(kept) + QLatin1Char('_') + QString::fromLatin1(digest.left(kHashHexDigits));
    m_originals.insert(shortened, name);
    return shortened;
}

QString ToolNameMap::original(const QString &vendorName) const
{
    return m_originals.value(vendorName, vendorName);
}

} // namespace tollgate
