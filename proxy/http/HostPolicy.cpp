#include "HostPolicy.h"

#include <QNetworkInterface>
#include <algorithm>

namespace tollgate {

namespace {
// A reg-name as DNS names are written (RFC 3986 §3.2.2, RFC 1123): letters, digits, "-"
// and ".", at most 253 characters.
bool isHostName(const QByteArray &name)
{
    if (name.isEmpty() || name.size() > 253)
        return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}
} // namespace

HostPolicy::HostPolicy(const QHostAddress &listenAddress, const QStringList &allowedHosts)
{
    bool isIpv4 = false;
    QHostAddress address = listenAddress;
    const quint32 ipv4 = address.toIPv4Address(&isIpv4); // unwraps ::ffff:a.b.c.d
    if (isIpv4 && address.protocol() == QAbstractSocket::IPv6Protocol)
        address = QHostAddress(ipv4);
    const bool isWildcard = address == QHostAddress::AnyIPv4 || address == QHostAddress::AnyIPv6
        || address == QHostAddress::Any;
    if (address.isLoopback() || isWildcard) {
        m_anyPort.insert(QStringLiteral("localhost"));
        m_anyPort.insert(QStringLiteral("127.0.0.1"));
        m_anyPort.insert(QStringLiteral("[::1]"));
    }
    if (isWildcard) {
        // Reached by a literal address of this machine, a request names no attacker's domain.
        for (const QHostAddress &local : QNetworkInterface::allAddresses())
            addAddress(local);
    } else {
        addAddress(address);
    }
    for (const QString &entry : allowedHosts) {
        const Authority authority = parse(entry.toUtf8());
        if (!authority.isValid)
            continue; // the settings check refused it already
        if (authority.port < 0)
            m_anyPort.insert(authority.host);
        else
            m_withPort.insert(authority.host + QLatin1Char(':') + QString::number(authority.port));
    }
}

void HostPolicy::addAddress(const QHostAddress &address)
{
    QHostAddress plain = address;
    plain.setScopeId(QString());
    if (plain.protocol() == QAbstractSocket::IPv6Protocol)
        m_anyPort.insert(QLatin1Char('[') + plain.toString().toLower() + QLatin1Char(']'));
    else if (plain.protocol() == QAbstractSocket::IPv4Protocol)
        m_anyPort.insert(plain.toString());
}

HostPolicy::Authority HostPolicy::parse(const QByteArray &text)
{
    Authority authority;
    const QByteArray value = text.trimmed();
    QByteArray host = value;
    QByteArray port;
    if (value.startsWith('[')) {
        const qsizetype close = value.indexOf(']');
        if (close < 0)
            return authority;
        host = value.left(close + 1);
        const QByteArray rest = value.mid(close + 1);
        if (!rest.isEmpty()) {
            if (!rest.startsWith(':'))
                return authority;
            port = rest.mid(1);
        }
        QHostAddress address;
        if (!address.setAddress(QString::fromLatin1(host.mid(1, host.size() - 2)))
            || address.protocol() != QAbstractSocket::IPv6Protocol)
            return authority;
        host = '[' + address.toString().toLower().toLatin1() + ']';
    } else {
        const qsizetype colon = value.indexOf(':');
        if (colon >= 0) {
            host = value.left(colon);
            port = value.mid(colon + 1);
        }
        if (!isHostName(host))
            return authority;
        host = host.toLower();
    }
    if (!port.isNull()) {
        bool ok = false;
        const uint number = port.toUInt(&ok);
        // Digits only: toUInt() would also take "+80" or " 80".
        if (!ok || port.isEmpty() || port.size() > 5 || number > 65535
            || std::any_of(port.begin(), port.end(), [](char c) { return c < '0' || c > '9'; }))
            return authority;
        authority.port = int(number);
    }
    authority.host = QString::fromLatin1(host);
    authority.isValid = true;
    return authority;
}

HostPolicy::Verdict HostPolicy::check(const QByteArray &host) const
{
    if (!m_lastAllowed.isNull() && host == m_lastAllowed)
        return Verdict::Allowed;
    const Authority authority = parse(host);
    if (!authority.isValid)
        return Verdict::Malformed;
    if (m_anyPort.contains(authority.host)
        || (authority.port >= 0
            && m_withPort.contains(authority.host + QLatin1Char(':')
                                   + QString::number(authority.port)))) {
        m_lastAllowed = host;
        return Verdict::Allowed;
    }
    return Verdict::Refused;
}

QString HostPolicy::entryProblem(const QString &entry)
{
    if (entry.trimmed() != entry || entry.isEmpty())
        return QStringLiteral("\"%1\" is not a host name or address").arg(entry);
    if (!parse(entry.toUtf8()).isValid)
        return QStringLiteral("\"%1\" is not a host name or address, with an optional :port "
                              "(e.g. tollgate.example.com, 10.0.0.5, [fd00::5]:8787)")
            .arg(entry);
    return {};
}

} // namespace tollgate
