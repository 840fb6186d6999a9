#include "GatewayConfig.h"

#include "http/HostPolicy.h"

#include <QFileInfo>
#include <QSet>
#include <QSslCertificate>

namespace tollgate {

QString GatewayConfig::validate() const
{
    if (!upstream.isValid() || upstream.host().isEmpty())
        return QStringLiteral("upstream URL is not valid: %1").arg(upstream.toString());
    const QString scheme = upstream.scheme();
    if (scheme != QLatin1String("http") && scheme != QLatin1String("https"))
        return QStringLiteral("upstream URL must be http or https: %1").arg(upstream.toString());
    if (upstream.hasQuery() || upstream.hasFragment())
        return QStringLiteral("upstream URL must not have a query or fragment");
    if (!upstreamCaFile.isEmpty()) {
        if (!QFileInfo(upstreamCaFile).isReadable())
            return QStringLiteral("cannot read the upstream CA file %1").arg(upstreamCaFile);
        if (QSslCertificate::fromPath(upstreamCaFile, QSsl::Pem).isEmpty())
            return QStringLiteral("no PEM certificate in %1").arg(upstreamCaFile);
    }
    if (const QString problem = exposureProblem(); !problem.isEmpty())
        return problem;
    if (virtualKeys.isEmpty() && namedVirtualKeys.isEmpty() && !passthroughAuth)
        return QStringLiteral("no virtual key configured");
    for (const QString &host : allowedHosts) {
        if (const QString problem = HostPolicy::entryProblem(host); !problem.isEmpty())
            return QStringLiteral("allowed_hosts: %1").arg(problem);
    }
    QSet<QString> virtualAliases;
    QSet<QByteArray> secrets;
    for (const VirtualKey &key : allVirtualKeys()) {
        if (key.alias != VirtualKey::kDefaultAlias) {
            if (const QString problem = VirtualKey::aliasProblem(key.alias); !problem.isEmpty())
                return QStringLiteral("virtual key alias: %1").arg(problem);
            if (virtualAliases.contains(key.alias))
                return QStringLiteral("two virtual keys are named \"%1\"").arg(key.alias);
            virtualAliases.insert(key.alias);
        }
        if (key.secret.size() < 16)
            return QStringLiteral("virtual keys must be at least 16 characters");
        if (secrets.contains(key.secret))
            return QStringLiteral("two virtual keys have the same secret");
        secrets.insert(key.secret);
    }
    if (connectTimeoutMs <= 0 || firstByteTimeoutMs <= 0 || idleTimeoutMs <= 0
        || headerReadTimeoutMs <= 0 || bodyReadTimeoutMs <= 0 || keepAliveTimeoutMs <= 0
        || upstreamIdleTimeoutMs <= 0)
        return QStringLiteral("timeouts must be positive");
    if (maxHeaderBytes < 1024 || maxBodyBytes < 1024 || maxBatchBodyBytes < 1024)
        return QStringLiteral("size limits must be at least 1 KiB");
    QSet<QString> aliases;
    for (const UpstreamKey &key : allUpstreamKeys()) {
        if (key.alias.isEmpty() || key.secret.isEmpty())
            return QStringLiteral("an upstream key needs an alias and a key");
        if (aliases.contains(key.alias))
            return QStringLiteral("two upstream keys are named \"%1\"").arg(key.alias);
        aliases.insert(key.alias);
    }
    return {};
}

bool GatewayConfig::isLoopbackOnly() const
{
    bool isIpv4 = false;
    const quint32 ipv4 = listenAddress.toIPv4Address(&isIpv4); // also ::ffff:127.0.0.1
    return isIpv4 ? QHostAddress(ipv4).isLoopback() : listenAddress.isLoopback();
}

QString GatewayConfig::exposureProblem() const
{
    if (isLoopbackOnly())
        return {};
    const QString address = listenAddress.toString();
    if (!allowRemote)
        return QStringLiteral("listening on %1 would let other machines use this gateway: pass "
                              "--allow-remote (settings: \"allow_remote\": true) to allow it, "
                              "or listen on 127.0.0.1")
            .arg(address);
    if (passthroughAuth)
        return QStringLiteral("--passthrough-auth (\"passthrough_auth\") is refused on %1, an "
                              "address other machines can reach: every client there must "
                              "present a Tollgate virtual key")
            .arg(address);
    return {};
}

QString GatewayConfig::clientBaseUrl(quint16 port) const
{
    QHostAddress shown = listenAddress;
    if (shown == QHostAddress::AnyIPv4 || shown == QHostAddress::Any)
        shown = QHostAddress::LocalHost;
    else if (shown == QHostAddress::AnyIPv6)
        shown = QHostAddress::LocalHostIPv6;
    QString host = shown.toString();
    if (shown.protocol() == QAbstractSocket::IPv6Protocol)
        host = QLatin1Char('[') + host + QLatin1Char(']');
    return QStringLiteral("http://%1:%2").arg(host).arg(port);
}

QList<VirtualKey> GatewayConfig::allVirtualKeys() const
{
    QList<VirtualKey> keys;
    for (const QByteArray &secret : virtualKeys) {
        VirtualKey key;
        key.alias = VirtualKey::kDefaultAlias;
        key.secret = secret;
        key.billingTag = billingTag;
        key.limits.requestsPerMinute = requestsPerMinute;
        key.limits.inputTokensPerMinute = inputTokensPerMinute;
        key.limits.outputTokensPerMinute = outputTokensPerMinute;
        key.limits.maxConcurrentStreams = maxConcurrentStreams;
        key.budget = budget;
        keys.append(key);
    }
    return keys + namedVirtualKeys;
}

bool GatewayConfig::hasBudgets() const
{
    const auto hasCap = [](const BudgetGuard::Caps &caps) {
        return caps.dailyPicoUsd > 0 || caps.monthlyPicoUsd > 0;
    };
    if (hasCap(budget) && !virtualKeys.isEmpty())
        return true;
    for (const VirtualKey &key : namedVirtualKeys) {
        if (hasCap(key.budget))
            return true;
    }
    for (const BudgetGuard::Caps &caps : tagBudgets) {
        if (hasCap(caps))
            return true;
    }
    return false;
}

QList<UpstreamKey> GatewayConfig::allUpstreamKeys() const
{
    QList<UpstreamKey> keys = upstreamKeys;
    if (!upstreamKey.isEmpty())
        keys.prepend({QStringLiteral("default"), upstreamKey});
    return keys;
}

} // namespace tollgate
