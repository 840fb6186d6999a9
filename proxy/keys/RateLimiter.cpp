#include "RateLimiter.h"

#include "../http/ErrorResponse.h"

#include <algorithm>

namespace tollgate {

namespace {

constexpr qint64 kSecondUs = 1000 * 1000;
// A bucket's debt is bounded by an hour's refill: one absurd usage figure must not lock a
// key out for days (and the arithmetic stays far from 64-bit overflow).
constexpr qint64 kMaxDebtMinutes = 60;

// For numerator >= 0 and denominator > 0, without overflow near the type's maximum.
qint64 ceilDiv(qint64 numerator, qint64 denominator)
{
    return numerator / denominator + (numerator % denominator != 0 ? 1 : 0);
}

qint64 floorDiv(qint64 numerator, qint64 denominator)
{
    return numerator >= 0 ? numerator / denominator : -ceilDiv(-numerator, denominator);
}

QByteArray reasonPhrase(int status)
{
    return status == 429 ? QByteArrayLiteral("Too Many Requests")
                         : ErrorResponse::reasonPhrase(status);
}

RateLimiter::Reply errorReply(const QString &message, const QByteArray &requestId)
{
    RateLimiter::Reply reply;
    reply.status = 429;
    reply.body = ErrorResponse::json(ErrorResponse::typeForStatus(429), message, requestId);
    reply.headers.append(QByteArrayLiteral("content-type"), QByteArrayLiteral("application/json"));
    if (!requestId.isEmpty())
        reply.headers.append(QByteArrayLiteral("request-id"), requestId);
    return reply;
}

} // namespace

// ---- Bucket ----

void RateLimiter::Bucket::setRate(qint64 perMinute, qint64 nowUs)
{
    perMinute = std::clamp<qint64>(perMinute, 0, kMaxPerMinute);
    if (perMinute == m_perMinute)
        return;
    if (m_perMinute == 0 || perMinute == 0) {
        m_isStarted = false; // a limit switched on starts full
    } else if (m_isStarted) {
        refill(nowUs);
        m_level = std::min(m_level, perMinute * kUnitsPerToken);
    }
    m_perMinute = perMinute;
}

qint64 RateLimiter::Bucket::levelAt(qint64 nowUs) const
{
    if (!m_isStarted)
        return capacity();
    const qint64 elapsedUs = std::max<qint64>(0, nowUs - m_lastUs);
    const qint64 missing = capacity() - m_level;
    if (missing <= 0)
        return m_level;
    // Compare in time, not in units: elapsedUs * perMinute could overflow after a long idle.
    if (elapsedUs >= ceilDiv(missing, m_perMinute))
        return capacity();
    return m_level + elapsedUs * m_perMinute;
}

void RateLimiter::Bucket::refill(qint64 nowUs)
{
    if (m_isStarted && nowUs < m_lastUs)
        return; // the clock is monotonic; if it ever is not, nothing is refilled twice
    m_level = levelAt(nowUs);
    m_lastUs = nowUs;
    m_isStarted = true;
}

qint64 RateLimiter::Bucket::waitForOneUs() const
{
    const qint64 missing = kUnitsPerToken - m_level;
    return missing <= 0 ? 0 : ceilDiv(missing, m_perMinute);
}

void RateLimiter::Bucket::take(qint64 tokens)
{
    tokens = std::clamp<qint64>(tokens, 0, kMaxPerMinute);
    m_level = std::max(m_level - tokens * kUnitsPerToken, -kMaxDebtMinutes * capacity());
}

// ---- RateLimiter ----

RateLimiter::RateLimiter()
    : RateLimiter(Limits())
{
}

RateLimiter::RateLimiter(const Limits &limits)
{
    setLimits(limits, 0);
}

void RateLimiter::setLimits(const Limits &limits, qint64 nowUs)
{
    m_limits = limits;
    m_limits.maxConcurrentStreams = std::max(0, limits.maxConcurrentStreams);
    m_requests.setRate(limits.requestsPerMinute, nowUs);
    m_inputTokens.setRate(limits.inputTokensPerMinute, nowUs);
    m_outputTokens.setRate(limits.outputTokensPerMinute, nowUs);
}

void RateLimiter::refillAll(qint64 nowUs)
{
    if (m_requests.isLimited())
        m_requests.refill(nowUs);
    if (m_inputTokens.isLimited())
        m_inputTokens.refill(nowUs);
    if (m_outputTokens.isLimited())
        m_outputTokens.refill(nowUs);
}

RateLimiter::Admission RateLimiter::admit(qint64 nowUs)
{
    refillAll(nowUs);
    Admission admission;
    qint64 longestWaitUs = 0;
    const auto consider = [&](Limit limit, qint64 waitUs) {
        if (waitUs > longestWaitUs) {
            longestWaitUs = waitUs;
            admission.limitedBy = limit;
        }
    };
    if (m_requests.isLimited())
        consider(Limit::Requests, m_requests.waitForOneUs());
    // Token use is known only afterwards: a request passes while the bucket holds at least
    // one token, and its usage is charged when the response ends.
    if (m_inputTokens.isLimited())
        consider(Limit::InputTokens, m_inputTokens.waitForOneUs());
    if (m_outputTokens.isLimited())
        consider(Limit::OutputTokens, m_outputTokens.waitForOneUs());
    // When a slot frees is unknown: the shortest retry-after Claude Code honours.
    if (m_limits.maxConcurrentStreams > 0 && m_activeStreams >= m_limits.maxConcurrentStreams)
        consider(Limit::ConcurrentStreams, kSecondUs);
    if (!admission.isAllowed()) {
        admission.retryAfterSeconds = retryAfterSeconds(longestWaitUs);
        return admission;
    }
    if (m_requests.isLimited())
        m_requests.take(1);
    ++m_activeStreams;
    return admission;
}

void RateLimiter::release()
{
    if (m_activeStreams > 0)
        --m_activeStreams;
}

void RateLimiter::charge(qint64 inputTokens, qint64 outputTokens, qint64 nowUs)
{
    if (m_inputTokens.isLimited()) {
        m_inputTokens.refill(nowUs);
        m_inputTokens.take(inputTokens);
    }
    if (m_outputTokens.isLimited()) {
        m_outputTokens.refill(nowUs);
        m_outputTokens.take(outputTokens);
    }
}

qint64 RateLimiter::availableRequests(qint64 nowUs) const
{
    return m_requests.isLimited() ? floorDiv(m_requests.levelAt(nowUs), Bucket::kUnitsPerToken)
                                  : -1;
}

qint64 RateLimiter::availableInputTokens(qint64 nowUs) const
{
    return m_inputTokens.isLimited()
        ? floorDiv(m_inputTokens.levelAt(nowUs), Bucket::kUnitsPerToken)
        : -1;
}

qint64 RateLimiter::availableOutputTokens(qint64 nowUs) const
{
    return m_outputTokens.isLimited()
        ? floorDiv(m_outputTokens.levelAt(nowUs), Bucket::kUnitsPerToken)
        : -1;
}

qint64 RateLimiter::limitValue(Limit limit) const
{
    switch (limit) {
    case Limit::Requests:
        return m_requests.perMinute();
    case Limit::InputTokens:
        return m_inputTokens.perMinute();
    case Limit::OutputTokens:
        return m_outputTokens.perMinute();
    case Limit::ConcurrentStreams:
        return m_limits.maxConcurrentStreams;
    case Limit::None:
        break;
    }
    return 0;
}

QString RateLimiter::message(const Admission &admission) const
{
    const QString limit = QString::number(limitValue(admission.limitedBy));
    const QString wait = QString::number(admission.retryAfterSeconds);
    switch (admission.limitedBy) {
    case Limit::Requests:
        return tr("This Tollgate key's limit of %1 requests per minute is reached; retry in %2 s.")
            .arg(limit, wait);
    case Limit::InputTokens:
        return tr("This Tollgate key's limit of %1 input tokens per minute is reached; retry in "
                  "%2 s.")
            .arg(limit, wait);
    case Limit::OutputTokens:
        return tr("This Tollgate key's limit of %1 output tokens per minute is reached; retry in "
                  "%2 s.")
            .arg(limit, wait);
    case Limit::ConcurrentStreams:
        return tr("This Tollgate key's limit of %1 requests at a time is reached; retry in %2 s.")
            .arg(limit, wait);
    case Limit::None:
        break;
    }
    return QString();
}

RateLimiter::Reply RateLimiter::reply(const Admission &admission, const QByteArray &requestId) const
{
    return tooManyRequests(message(admission), admission.retryAfterSeconds, requestId);
}

int RateLimiter::retryAfterSeconds(qint64 delayUs)
{
    if (delayUs <= 0)
        return 1;
    return int(std::clamp<qint64>(ceilDiv(delayUs, kSecondUs), 1, kMaxRetryAfterSeconds));
}

RateLimiter::Reply RateLimiter::refusal(const QString &message, const QByteArray &requestId)
{
    return errorReply(message, requestId);
}

RateLimiter::Reply RateLimiter::tooManyRequests(const QString &message, int retryAfterSeconds,
                                                const QByteArray &requestId)
{
    Reply reply = errorReply(message, requestId);
    // Integer seconds only, and never above 60: Claude Code gives up on a longer wait.
    const int seconds = std::clamp(retryAfterSeconds, 1, kMaxRetryAfterSeconds);
    reply.headers.append(QByteArrayLiteral("retry-after"), QByteArray::number(seconds));
    reply.headers.append(QByteArrayLiteral("x-should-retry"), QByteArrayLiteral("true"));
    return reply;
}

QByteArray RateLimiter::Reply::toHttpResponse() const
{
    QByteArray out;
    out.reserve(body.size() + 256);
    out.append("HTTP/1.1 ").append(QByteArray::number(status)).append(' ');
    out.append(reasonPhrase(status)).append("\r\n");
    for (const HeaderList::Field &field : headers.fields())
        HeaderList::write(out, field.name, field.value);
    HeaderList::write(out, QByteArrayLiteral("content-length"), QByteArray::number(body.size()));
    out.append("\r\n");
    out.append(body);
    return out;
}

} // namespace tollgate
