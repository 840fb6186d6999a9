#pragma once

#include <QByteArray>
#include <QSslConfiguration>
#include <QString>
#include <QUrl>
#include <optional>

namespace tollgate {

// Where requests go: the vendor's base URL split into what a connection needs (scheme,
// host, port) and what each request needs (Host header, path prefix).
struct UpstreamTarget
{
    bool isTls = true;
    QString host;
    quint16 port = 443;
    QByteArray hostHeader; // host[:port], port omitted when it is the scheme's default
    QByteArray pathPrefix; // "" or "/prefix" without a trailing slash
    QByteArray poolKey; // scheme://host:port
    // For https: the system's trust store plus any extra CAs. Empty for plain http, so that
    // a gateway with only http upstreams (local vendors) never loads the TLS library: even
    // a default-constructed QSslConfiguration does.
    std::optional<QSslConfiguration> tls;

    // extraCaFile: PEM certificates trusted in addition to the system's (may be empty).
    static UpstreamTarget fromUrl(const QUrl &url, const QString &extraCaFile = QString());
};

} // namespace tollgate
