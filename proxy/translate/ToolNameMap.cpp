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
    const QString shortened = name.left(kMaxNameLength - kHashHexDigits - 1) + QLatin1Char('_')
        + QString::fromLatin1(digest.left(kHashHexDigits));
    m_originals.insert(shortened, name);
    return shortened;
}

QString ToolNameMap::original(const QString &vendorName) const
{
    return m_originals.value(vendorName, vendorName);
}

} // namespace tollgate
