#include "HeaderList.h"

#include <cstring>

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
    // One size check and four copies: QByteArray::append's general path, four times per
    // header line, showed in the cost of every request.
    const qsizetype at = out.size();
    out.resize(at + name.size() + value.size() + 4);
    char *to = out.data() + at;
    std::memcpy(to, name.constData(), size_t(name.size()));
    to += name.size();
    std::memcpy(to, ": ", 2);
    to += 2;
    std::memcpy(to, value.constData(), size_t(value.size()));
    to += value.size();
    std::memcpy(to, "\r\n", 2);
}

} // namespace tollgate
