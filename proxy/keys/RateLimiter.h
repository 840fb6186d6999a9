#pragma once

#include "../http/HeaderList.h"

#include <QByteArray>
#include <QCoreApplication>
#include <QString>

namespace tollgate {

// The limits of one virtual key: token buckets for requests, input tokens and output tokens
// per minute, and a cap on requests in flight (streams). admit() decides before a request
// goes upstream; charge() books the tokens once the response's usage is known, so a large
// answer may drive a token bucket below zero and delay the requests after it. Pure logic:
// time comes in as monotonic microseconds, integer arithmetic only, so the same calls give
// the same answers. Not thread-safe: it lives on the proxy thread.
class RateLimiter
{
    Q_DECLARE_TR_FUNCTIONS(RateLimiter)

public:
    // Claude Code starts several subagents at once and each sends a burst of requests: the
    // default must let a busy session through and still stop a runaway loop.
    static constexpr qint64 kDefaultRequestsPerMinute = 300;
    // Claude Code stops retrying when retry-after exceeds 60 s.
    static constexpr int kMaxRetryAfterSeconds = 60;
    // Per-minute rates above this are treated as this (keeps the arithmetic in 64 bits).
    static constexpr qint64 kMaxPerMinute = 1000LL * 1000 * 1000;

    // A bucket holds one minute's worth; 0 means no limit.
    struct Limits
    {
        qint64 requestsPerMinute = kDefaultRequestsPerMinute;
        qint64 inputTokensPerMinute = 0; // input + cache writes, as Anthropic's ITPM counts
        qint64 outputTokensPerMinute = 0;
        int maxConcurrentStreams = 0;
    };

    enum class Limit { None, Requests, InputTokens, OutputTokens, ConcurrentStreams };

    struct Admission
    {
        Limit limitedBy = Limit::None;
        int retryAfterSeconds = 0; // 1..60 when refused

        bool isAllowed() const { return limitedBy == Limit::None; }
    };

    // An answer Tollgate gives itself instead of forwarding the request.
    struct Reply
    {
        int status = 429;
        HeaderList headers; // content-type, retry-after or x-should-retry, request-id
        QByteArray body; // {"type":"error","error":{"type":"rate_limit_error",...},...}

        // Status line, headers, content-length and body, ready to write.
        QByteArray toHttpResponse() const;
    };

    RateLimiter();
    explicit RateLimiter(const Limits &limits);

    // New limits keep what the buckets hold, trimmed to the new size.
    void setLimits(const Limits &limits, qint64 nowUs);
    const Limits &limits() const { return m_limits; }

    // Takes one request from the request bucket and a stream slot, or refuses with the wait
    // until every limit would let the request through (whole seconds, 1..60). A refused
    // request takes nothing. Every admitted request must be release()d once.
    Admission admit(qint64 nowUs);
    // The request's stream slot is free again (response finished, client gone, failure).
    void release();
    // Books the usage of a finished response; token buckets may go below zero.
    void charge(qint64 inputTokens, qint64 outputTokens, qint64 nowUs);

    int activeStreams() const { return m_activeStreams; }
    // What the buckets hold at nowUs in whole requests/tokens (negative while in debt);
    // -1 for a limit that is off.
    qint64 availableRequests(qint64 nowUs) const;
    qint64 availableInputTokens(qint64 nowUs) const;
    qint64 availableOutputTokens(qint64 nowUs) const;

    // Names the limit and the wait, for the error message.
    QString message(const Admission &admission) const;
    // The 429 for a refused admission.
    Reply reply(const Admission &admission, const QByteArray &requestId) const;

    // A wait as retry-after: whole seconds rounded up, at least 1, at most 60.
    static int retryAfterSeconds(qint64 delayUs);
    // A 429 in Anthropic's error shape with the message, and nothing that invites a retry.
    static Reply refusal(const QString &message, const QByteArray &requestId);
    // A 429 rate_limit_error with an integer retry-after (clamped to 1..60) and
    // x-should-retry: true. Also the answer when every upstream key is cooling down.
    static Reply tooManyRequests(const QString &message, int retryAfterSeconds,
                                 const QByteArray &requestId);

private:
    // Fixed point: one token (or request) is kUnitsPerToken units and a bucket refills
    // perMinute units every microsecond, so a full minute refills exactly perMinute tokens.
    class Bucket
    {
    public:
        static constexpr qint64 kUnitsPerToken = 60LL * 1000 * 1000;

        void setRate(qint64 perMinute, qint64 nowUs);
        bool isLimited() const { return m_perMinute > 0; }
        qint64 perMinute() const { return m_perMinute; }
        qint64 levelAt(qint64 nowUs) const;
        void refill(qint64 nowUs);
        // Microseconds until the bucket holds at least one token (0 when it does now).
        qint64 waitForOneUs() const;
        void take(qint64 tokens);

    private:
        qint64 capacity() const { return m_perMinute * kUnitsPerToken; }

        qint64 m_perMinute = 0;
        qint64 m_level = 0;
        qint64 m_lastUs = 0;
        bool m_isStarted = false; // a bucket starts full at its first use
    };

    void refillAll(qint64 nowUs);
    qint64 limitValue(Limit limit) const;

    Limits m_limits;
    Bucket m_requests;
    Bucket m_inputTokens;
    Bucket m_outputTokens;
    int m_activeStreams = 0;
};

} // namespace tollgate
