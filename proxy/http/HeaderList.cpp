#include "HeaderList.h"

namespace tollgate {

bool HeaderList::nameEquals(const QByteArray &a, const QByteArray &b)
{
    return a.size() == b.size() && qstrnicmp(a.constData(), b.constData(), a.size()) == 0;
}

QByteArray HeaderList::value(const QByteArray &name) const
{
    for (const Field &f : m_fields) {
        if (nameEquals(f.name, name))
            return f.value;
    }
    return {};
}

bool HeaderList::contains(const QByteArray &name) const
{
    for (const Field &f : m_fields) {
        if (nameEquals(f.name, name))
            return true;
    }
    return false;
}

QList<QByteArray> HeaderList::connectionTokens() const
{
    QList<QByteArray> tokens;
    for (const Field &f : m_fields) {
        if (!nameEquals(f.name, "connection"))
            continue;
        for (const QByteArray &token : f.value.split(',')) {
            const QByteArray t = token.trimmed();
            if (!t.isEmpty())
                tokens.append(t);
        }
    }
    return tokens;
}

bool HeaderList::isHopByHop(const QByteArray &name, const QList<QByteArray> &connectionTokens)
{
    if (nameEquals(name, "connection") || nameEquals(name, "keep-alive") || nameEquals(name, "te")
        || nameEquals(name, "trailer") || nameEquals(name, "transfer-encoding")
        || nameEquals(name, "upgrade"))
        return true;
    if (name.size() >= 6 && qstrnicmp(name.constData(), "proxy-", 6) == 0)
        return true;
    for (const QByteArray &token : connectionTokens) {
        if (nameEquals(token, name))
            return true;
    }
    return false;
}

void HeaderList::write(QByteArray &out, const QByteArray &name, const QByteArray &value)
{
    out.append(name);
    out.append(": ", 2);
    out.append(value);
    out.append("\r\n", 2);
}

} // namespace tollgate
