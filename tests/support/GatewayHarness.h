#pragma once

#include "Gateway.h"

#include <QList>
#include <QObject>
#include <QPair>

namespace tollgate::test {

// A real Gateway (on its own proxy thread) started for one test, pointed at a mock
// upstream, with the records of every finished request collected.
class GatewayHarness : public QObject
{
    Q_OBJECT

public:
    static QByteArray virtualKey() { return QByteArrayLiteral("tg-test-0123456789abcdef0123"); }
    static QByteArray upstreamKey() { return QByteArrayLiteral("sk-ant-api03-upstream-test-key"); }
    // What an SDK client sends with every Messages request: the virtual key, the API
    // version and a JSON content type.
    static QList<QPair<QByteArray, QByteArray>> clientHeaders()
    {
        return {{"x-api-key", virtualKey()},
                {"anthropic-version", "2023-06-01"},
                {"content-type", "application/json"}};
    }

    explicit GatewayHarness(QObject *parent = nullptr);
    ~GatewayHarness() override;

    // error.type of an Anthropic-shaped error body (empty when it is not one).
    static QString errorType(const QByteArray &body);

    // A config for 127.0.0.1, any free port, the given upstream base URL and the test keys.
    static GatewayConfig configFor(const QByteArray &upstreamBaseUrl);

    bool start(const GatewayConfig &config, int timeoutMs = 5000);
    bool stop(int timeoutMs = 5000);
    quint16 port() const { return m_gateway.port(); }
    Gateway &gateway() { return m_gateway; }
    const QList<RequestRecord> &records() const { return m_records; }
    bool waitForRecords(int n, int timeoutMs = 5000);

private:
    Gateway m_gateway;
    QList<RequestRecord> m_records;
};

} // namespace tollgate::test
