#include "UpstreamTarget.h"

#include <QSslCertificate>
#include <QSslSocket>

namespace tollgate {

UpstreamTarget UpstreamTarget::fromUrl(const QUrl &url, const QString &extraCaFile)
{
    UpstreamTarget t;
    t.isTls = url.scheme() == QLatin1String("https");
    t.host = url.host();
    const int defaultPort = t.isTls ? 443 : 80;
    t.port = quint16(url.port(defaultPort));
    QByteArray host = url.host(QUrl::FullyEncoded).toLatin1();
    if (host.contains(':'))
        host = '[' + host + ']'; // IPv6 literal
    t.hostHeader = t.port == defaultPort ? host : host + ':' + QByteArray::number(t.port);
    QByteArray prefix = url.path(QUrl::FullyEncoded).toLatin1();
    while (prefix.endsWith('/'))
        prefix.chop(1);
    t.pathPrefix = prefix;
    t.poolKey =
        (t.isTls ? QByteArrayLiteral("https://") : QByteArrayLiteral("http://")) + t.hostHeader;
    if (t.isTls) {
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setPeerVerifyMode(QSslSocket::VerifyPeer);
        if (!extraCaFile.isEmpty())
            tls.addCaCertificates(QSslCertificate::fromPath(extraCaFile, QSsl::Pem));
        t.tls = std::move(tls);
    }
    return t;
}

} // namespace tollgate
