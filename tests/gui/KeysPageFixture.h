#pragma once

#include "Gateway.h"
#include "MockUpstream.h"
#include "TestClient.h"

#include <QAbstractItemModel>
#include <QByteArray>
#include <QDateTime>
#include <QPushButton>
#include <QString>
#include <QTest>
#include <QWidget>

// What the Keys page tests share: a mock upstream that tells the upstream keys apart by the
// rate-limit headers it answers with (and refuses one of them), and small helpers to drive
// the page as a user would.
namespace tollgate::test::keyspage {

// Upstream keys the mock knows. Its answers for work and ci carry these rate limits.
inline QByteArray workKey()
{
    return QByteArrayLiteral("sk-ant-api03-work-0123456789abcdefWORK");
}
inline QByteArray ciKey()
{
    return QByteArrayLiteral("sk-ant-api03-ci-0123456789abcdefghijCIKY");
}
// The mock refuses this one with 401 authentication_error.
inline QByteArray revokedKey()
{
    return QByteArrayLiteral("sk-ant-api03-revoked-0123456789REVK");
}

struct Limits
{
    qint64 requestsLimit;
    qint64 requestsRemaining;
    qint64 tokensLimit;
    qint64 tokensRemaining;
};
inline constexpr Limits kWorkLimits {50, 49, 40000, 39000};
inline constexpr Limits kCiLimits {100, 90, 80000, 70000};

// When the limits reset, as the mock says (a minute from the test's start, in UTC).
QDateTime resetTime();

// Answers Messages requests (with usage worth $0.60 for claude-sonnet-4-6) and
// count_tokens; adds the key's anthropic-ratelimit-* headers, refuses revokedKey().
MockResponse answer(const MockRequest &request);

// A Messages request through the gateway with this virtual key, once the proxy applied the
// changes the page sent it (keys are set on the proxy thread a moment after they are saved).
TestClient::Response post(Gateway &gateway, const QByteArray &virtualKey,
                          const QByteArray &model = "claude-sonnet-4-6");

QPushButton *button(QWidget *page, const QString &objectName);
QString cell(const QAbstractItemModel *model, int row, int column);
// The model's row whose AliasRole (Qt::UserRole + 1) is alias; -1 when none.
int rowOf(const QAbstractItemModel *model, const QString &alias);

} // namespace tollgate::test::keyspage
