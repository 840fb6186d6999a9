#include "HeadlessRunner.h"

#include "ThreadPriority.h"
#include "config/ClientSetup.h"
#include "usage/PriceTable.h"

#include <QCoreApplication>
#include <QDateTime>
#include <algorithm>
#include <charconv>
#include <limits>

namespace tollgate {

namespace {
void printLine(FILE *stream, const QByteArray &line)
{
    std::fwrite(line.constData(), 1, size_t(line.size()), stream);
    std::fputc('\n', stream);
    std::fflush(stream);
}

// The time as Qt::ISODateWithMs writes it. Formatting a date takes a couple of microseconds,
// a tenth of what a request costs the proxy; for UTC times (every request's start) the text
// of the current second is kept, and only the milliseconds change between its lines.
QByteArray isoTimeWithMs(const QDateTime &time)
{
    if (time.timeSpec() != Qt::UTC || !time.isValid())
        return time.toString(Qt::ISODateWithMs).toUtf8();
    thread_local qint64 cachedSecond = std::numeric_limits<qint64>::min();
    thread_local QByteArray cachedText; // Qt::ISODate: "yyyy-MM-ddTHH:mm:ssZ"
    const qint64 ms = time.toMSecsSinceEpoch();
    const qint64 second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    if (second != cachedSecond) {
        cachedText = time.toString(Qt::ISODate).toUtf8();
        cachedSecond = second;
    }
    constexpr qsizetype kSecondsEnd = 19; // a four-digit year, then 'Z'
    if (cachedText.size() != kSecondsEnd + 1 || !cachedText.endsWith('Z'))
        return time.toString(Qt::ISODateWithMs).toUtf8();
    const int millis = int(ms - second * 1000);
    QByteArray text;
    text.reserve(kSecondsEnd + 5);
    text.append(cachedText.constData(), kSecondsEnd);
    text += '.';
    text += char('0' + millis / 100);
    text += char('0' + millis / 10 % 10);
    text += char('0' + millis % 10);
    text += 'Z';
    return text;
}

void appendNumber(QByteArray &text, qint64 value)
{
    char digits[24];
    const std::to_chars_result end = std::to_chars(digits, digits + sizeof digits, value);
    text.append(digits, qsizetype(end.ptr - digits));
}

// "whole.fraction" of value / 10^decimals, with exactly that many decimals.
void appendFixed(QByteArray &text, qint64 value, int decimals)
{
    qint64 scale = 1;
    for (int i = 0; i < decimals; ++i)
        scale *= 10;
    appendNumber(text, value / scale);
    if (decimals == 0)
        return;
    text += '.';
    const qint64 fraction = value % scale;
    for (qint64 place = scale / 10; place > 0; place /= 10)
        text += char('0' + fraction / place % 10);
}

// 1.23ms under 10 ms, 123ms under 10 s, 12.3s from there on; rounded to the nearest.
void appendDuration(QByteArray &text, qint64 us)
{
    if (us < 0) {
        text += '-';
    } else if (us < 9'995) {
        appendFixed(text, (us + 5) / 10, 2);
        text += "ms";
    } else if (us < 9'999'500) {
        appendNumber(text, (us + 500) / 1000);
        text += "ms";
    } else {
        appendFixed(text, (us + 50'000) / 100'000, 1);
        text += 's';
    }
}
} // namespace

HeadlessRunner::HeadlessRunner(const GatewayConfig &config, bool logRequests, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_logRequests(logRequests)
{
    connect(&m_gateway, &Gateway::started, this, &HeadlessRunner::onStarted);
    connect(&m_gateway, &Gateway::startFailed, this, &HeadlessRunner::onStartFailed);
    connect(&m_gateway, &Gateway::stopped, this, [this] {
        flushLog();
        QCoreApplication::quit();
    });
    if (m_logRequests)
        connect(&m_gateway, &Gateway::requestFinished, this, &HeadlessRunner::onRequestFinished);
    connect(&m_gateway, &Gateway::storeFailed, this, [](const QString &error) {
        printLine(stderr, "tollgate: " + error.toUtf8() + " (rows are kept and retried)");
    });
    connect(&m_gateway, &Gateway::upstreamKeyDisabled, this,
            [](const QString &alias, const QString &reason) {
                printLine(stderr,
                          QStringLiteral("tollgate: the upstream rejected the key \"%1\" (%2); "
                                         "it is left out until replaced")
                              .arg(alias, reason)
                              .toUtf8());
            });
    // 80 %, used up, and the reset at a new day or month: one line each.
    connect(&m_gateway, &Gateway::budgetChanged, this, [](const SpendTracker::Status &status) {
        printLine(stderr, QStringLiteral("tollgate: %1").arg(status.message).toUtf8());
    });
    connect(&m_gateway, &Gateway::reconfigured, this, [this](quint16 port) {
        m_config = m_gateway.config(); // the settings it took
        printLine(stderr,
                  QByteArrayLiteral("tollgate: new settings in use; requests in flight finish "
                                    "under the old ones"));
        printSetupLines(port);
    });
    connect(&m_gateway, &Gateway::reconfigureFailed, this, [](const QString &error) {
        printLine(stderr,
                  QStringLiteral("tollgate: the new settings are not in use (%1); running on "
                                 "with the previous ones")
                      .arg(error)
                      .toUtf8());
    });
    connect(&m_gateway, &Gateway::storeRecovered, this, [] {
        printLine(stderr, QByteArrayLiteral("tollgate: the request log is written again"));
    });
}

void HeadlessRunner::start()
{
    m_gateway.start(m_config);
}

void HeadlessRunner::stop()
{
    if (m_isStopping)
        return;
    m_isStopping = true;
    printLine(stderr, QByteArrayLiteral("tollgate: stopping"));
    m_gateway.stop();
}

void HeadlessRunner::onStarted(quint16 port)
{
    // The proxy thread exists now (it keeps its priority); this thread only logs.
    lowerCurrentThreadPriority();
    printSetupLines(port);
}

void HeadlessRunner::reconfigure(const GatewayConfig &config)
{
    if (m_isStopping)
        return;
    printLine(stderr, QByteArrayLiteral("tollgate: reading the settings again"));
    m_gateway.reconfigure(config);
}

void HeadlessRunner::printSetupLines(quint16 port)
{
    const QByteArray baseUrl = m_config.clientBaseUrl(port).toUtf8();

    printLine(stderr,
              "tollgate " TOLLGATE_VERSION ": listening on " + baseUrl + ", upstream "
                  + m_config.upstream.toString().toUtf8());
    const QList<UpstreamKey> keys = m_config.allUpstreamKeys();
    if (keys.isEmpty()) {
        printLine(stderr,
                  QByteArrayLiteral("tollgate: no upstream key (set TOLLGATE_UPSTREAM_KEYS or "
                                    "TOLLGATE_UPSTREAM_KEY, or pass --key-file): requests with "
                                    "the virtual key will be answered 401"));
    } else {
        QStringList aliases;
        for (const UpstreamKey &key : keys)
            aliases.append(key.alias);
        printLine(stderr,
                  QStringLiteral("tollgate: upstream keys: %1%2")
                      .arg(aliases.join(u", "),
                           m_config.sessionAffinity
                               ? QStringLiteral(" (sessions stay on their key)")
                               : QString())
                      .toUtf8());
    }
    if (!m_config.isLoopbackOnly()) {
        // --allow-remote: say what is exposed and what a client must send.
        const QString names = m_config.allowedHosts.isEmpty()
            ? QString()
            : QStringLiteral(" or %1").arg(m_config.allowedHosts.join(u", "));
        printLine(stderr,
                  QStringLiteral("tollgate: reachable from other machines on %1 port %2: every "
                                 "client needs a virtual key, and must reach this server by its "
                                 "address%3 (the Host header is checked)")
                      .arg(m_config.listenAddress.toString())
                      .arg(port)
                      .arg(names)
                      .toUtf8());
    }
    const QString key = m_config.virtualKeys.isEmpty()
        ? QString()
        : QString::fromUtf8(m_config.virtualKeys.first());
    printLine(
        stdout,
        ClientSetup::lines(ClientSetup::platformShell(), QString::fromUtf8(baseUrl), key).toUtf8());
    printLine(
        stderr,
        "tollgate: request log "
            + (m_config.store ? m_config.store->displayName().toUtf8() : QByteArrayLiteral("off")));
}

void HeadlessRunner::onStartFailed(const QString &error)
{
    printLine(stderr, "tollgate: " + error.toUtf8());
    QCoreApplication::exit(1);
}

void HeadlessRunner::onRequestFinished(const RequestRecord &record)
{
    // Records arrive in batches; their lines leave in one write after the batch.
    if (m_log.isEmpty())
        QMetaObject::invokeMethod(this, &HeadlessRunner::flushLog, Qt::QueuedConnection);
    appendRecord(m_log, record);
}

void HeadlessRunner::flushLog()
{
    std::fwrite(m_log.constData(), 1, size_t(m_log.size()), stdout);
    std::fflush(stdout);
    m_log.clear();
}

void HeadlessRunner::appendRecord(QByteArray &log, const RequestRecord &record)
{
    // Appended in place, numbers without temporaries: on a busy proxy this runs for every
    // request.
    log += isoTimeWithMs(record.startedAt);
    log += ' ';
    log += record.method;
    log += ' ';
    log += record.target;
    log += ' ';
    appendNumber(log, record.status);
    if (record.isStreaming)
        log += " sse";
    log += " ttfb=";
    appendDuration(log, record.ttfbUs);
    log += " total=";
    appendDuration(log, record.totalUs);
    log += " in=";
    appendNumber(log, record.requestBytes);
    log += " out=";
    appendNumber(log, record.responseBytes);
    if (!record.model.isEmpty()) {
        log += " model=";
        log += record.model.toUtf8();
    }
    if (record.usage.hasUsage) {
        const Usage &u = record.usage;
        log += " input=";
        appendNumber(log, u.inputTokens);
        log += " output=";
        appendNumber(log, u.outputTokens);
        log += " cache_write=";
        appendNumber(log, u.cacheWriteTokens());
        log += " cache_read=";
        appendNumber(log, u.cacheReadTokens);
        if (record.costPicoUsd) {
            log += " cost=$";
            PriceTable::appendUsd(log, *record.costPicoUsd);
        } else {
            log += " cost=unpriced";
        }
    }
    if (record.isIncomplete)
        log += " incomplete";
    if (!record.sessionId.isEmpty()) {
        log += " session=";
        log += QByteArrayView(record.sessionId)
                   .first(std::min<qsizetype>(record.sessionId.size(), 36));
    }
    if (!record.billingTag.isEmpty()) {
        log += " tag=";
        log += record.billingTag.toUtf8();
    }
    if (record.isPassthroughAuth)
        log += " auth=passthrough";
    if (!record.error.isEmpty()) {
        log += " error=\"";
        log += record.error.toUtf8();
        log += '"';
    }
    log += '\n';
}

} // namespace tollgate
