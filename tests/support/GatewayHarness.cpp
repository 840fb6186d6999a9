#include "GatewayHarness.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTest>

namespace tollgate::test {

GatewayHarness::GatewayHarness(QObject *parent)
    : QObject(parent)
{
    connect(&m_gateway, &Gateway::requestFinished, this,
            [this](const RequestRecord &record) { m_records.append(record); });
}

GatewayHarness::~GatewayHarness() = default;

QString GatewayHarness::errorType(const QByteArray &body)
{
    const QJsonObject root = QJsonDocument::fromJson(body).object();
    if (root.value(QLatin1String("type")).toString() != QLatin1String("error"))
        return {};
    return root.value(QLatin1String("error")).toObject().value(QLatin1String("type")).toString();
}

GatewayConfig GatewayHarness::configFor(const QByteArray &upstreamBaseUrl)
{
    GatewayConfig config;
    config.listenAddress = QHostAddress::LocalHost;
    config.port = 0;
    config.upstream = QUrl(QString::fromLatin1(upstreamBaseUrl));
    config.upstreamKey = upstreamKey();
    config.virtualKeys = {virtualKey()};
    return config;
}

bool GatewayHarness::start(const GatewayConfig &config, int timeoutMs)
{
    QSignalSpy started(&m_gateway, &Gateway::started);
    QSignalSpy failed(&m_gateway, &Gateway::startFailed);
    m_gateway.start(config);
    return QTest::qWaitFor([&] { return started.count() > 0 || failed.count() > 0; }, timeoutMs)
        && started.count() == 1;
}

bool GatewayHarness::stop(int timeoutMs)
{
    if (!m_gateway.isRunning())
        return true;
    QSignalSpy stopped(&m_gateway, &Gateway::stopped);
    m_gateway.stop();
    return stopped.count() > 0 || stopped.wait(timeoutMs);
}

bool GatewayHarness::waitForRecords(int n, int timeoutMs)
{
    return QTest::qWaitFor([&] { return m_records.size() >= n; }, timeoutMs);
}

} // namespace tollgate::test
