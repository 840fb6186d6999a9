#pragma once

#include <QByteArray>
#include <QList>
#include <string>

namespace tollgate {

// HTTP header fields in arrival order, names and values exactly as received. The proxy
// forwards them byte for byte, so nothing here lower-cases or re-joins anything.
class HeaderList
{
public:
    struct Field
    {
        QByteArray name;
        QByteArray value;
    };

    void append(const QByteArray &name, const QByteArray &value) { m_fields.append({name, value}); }
    void clear() { m_fields.clear(); }
    bool isEmpty() const { return m_fields.isEmpty(); }
    qsizetype size() const { return m_fields.size(); }
    const QList<Field> &fields() const { return m_fields; }
    QList<Field> &fields() { return m_fields; }

    // First value of the named field (ASCII case-insensitive); null when absent.
    QByteArray value(const QByteArray &name) const;
    bool contains(const QByteArray &name) const;

    // Names listed in the Connection header(s), trimmed; usually none.
    QList<QByteArray> connectionTokens() const;

    // True for headers that belong to one connection, not to the message (RFC 9110 7.6.1):
    // Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*, and every
    // name the message's Connection header lists (connectionTokens()).
    static bool isHopByHop(const QByteArray &name, const QList<QByteArray> &connectionTokens);

    // Inline, so that a literal's length is known when compiled and most names differ by
    // length alone.
    static bool nameEquals(const QByteArray &a, const char *lowerName)
    {
        const qsizetype n = qsizetype(std::char_traits<char>::length(lowerName));
        return a.size() == n && qstrnicmp(a.constData(), lowerName, n) == 0;
    }
    static bool nameEquals(const QByteArray &a, const QByteArray &b);
    // Appends "Name: value\r\n".
    static void write(QByteArray &out, const QByteArray &name, const QByteArray &value);

private:
    QList<Field> m_fields;
};

} // namespace tollgate
