#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QSet>
#include <QString>
#include <QStringList>

namespace tollgate {

// Which Host header values the gateway answers (DNS rebinding defence). A web page can
// make the browser send requests to 127.0.0.1 under a name of the attacker's own that
// resolves there; such a request carries that name in Host, and is refused before its body
// is read or any key is looked at. On a loopback listener the accepted names are
// localhost, 127.0.0.1 and [::1] (and the listen address itself); on any other listener the
// listen address (every local interface address for a wildcard one) plus allowed_hosts,
// for the DNS name a team server is reached by. A name without a port matches any port:
// the port is no defence against rebinding (the attacker controls the name, not the port),
// and a client behind a port forward (ssh -L, a container's published port) names the
// forwarded port. An allowed_hosts entry with a port matches that port only.
class HostPolicy
{
public:
    enum class Verdict { Allowed, Malformed, Refused };

    HostPolicy() = default;
    HostPolicy(const QHostAddress &listenAddress, const QStringList &allowedHosts);

    // Not thread-safe: remembers the last accepted value (a client sends the same Host on
    // every request), so each policy belongs to one thread.
    Verdict check(const QByteArray &host) const;

    // What is wrong with an allowed_hosts entry ("name", "1.2.3.4", "[::1]", each with an
    // optional ":port"); empty when it is fine.
    static QString entryProblem(const QString &entry);

private:
    struct Authority
    {
        QString host; // lower case; an IPv6 address in brackets
        int port = -1; // -1: none given
        bool isValid = false;
    };
    static Authority parse(const QByteArray &text);
    void addAddress(const QHostAddress &address);

    QSet<QString> m_anyPort; // accepted with any port or none
    QSet<QString> m_withPort; // "host:port", accepted as given
    mutable QByteArray m_lastAllowed; // the Host value last accepted, byte for byte
};

} // namespace tollgate
