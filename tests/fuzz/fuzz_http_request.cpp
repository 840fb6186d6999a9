// HttpParser on the client side, driven the way ClientConnection drives it: bytes arrive in
// reads of any size, the body of a request framed by Content-Length is read straight into the
// parser's buffer (bodyTail()), and a complete request is taken before the next pipelined one
// is parsed. The requests found, and where parsing stopped, must not depend on how the bytes
// were cut, and every request must be whole: its body exactly as long as its framing says.
#include "FuzzAssert.h"
#include "SplitPlan.h"
#include "http/HttpParser.h"

#include <QList>
#include <cstdint>
#include <cstdio>
#include <cstring>

using tollgate::HeaderList;
using tollgate::HttpParser;

namespace {

// Tollgate's default limit is larger; this keeps each run cheap while still letting the fuzzer
// cross it.
constexpr qint64 kMaxBodyBytes = 256 * 1024;

struct Request
{
    QByteArray method;
    QByteArray target;
    int httpMajor = 0;
    int httpMinor = 0;
    QList<HeaderList::Field> headers;
    QByteArray body;
    bool isChunked = false;
    bool shouldKeepAlive = false;
    bool operator==(const Request &other) const
    {
        if (headers.size() != other.headers.size())
            return false;
        for (qsizetype i = 0; i < headers.size(); ++i) {
            if (headers.at(i).name != other.headers.at(i).name
                || headers.at(i).value != other.headers.at(i).value)
                return false;
        }
        return method == other.method && target == other.target && httpMajor == other.httpMajor
            && httpMinor == other.httpMinor && body == other.body && isChunked == other.isChunked
            && shouldKeepAlive == other.shouldKeepAlive;
    }
};

struct Outcome
{
    QList<Request> requests;
    bool hasError = false;
    bool isHeaderOverflow = false;
    bool isBodyOverflow = false;
    bool isUpgrade = false;
    int errorStatus = 0;
    bool operator==(const Outcome &other) const = default;
};

// The input as a socket that hands out reads of the sizes the plan picks (or all of it).
class Socket
{
public:
    Socket(QByteArrayView input, SplitPlan *plan)
        : m_input(input)
        , m_plan(plan)
    {
    }
    bool atEnd() const { return m_at >= m_input.size(); }
    qsizetype read(char *into, qsizetype max)
    {
        const qsizetype left = std::min(max, m_input.size() - m_at);
        const qsizetype n = m_plan ? m_plan->nextPiece(left) : left;
        std::memcpy(into, m_input.data() + m_at, size_t(n));
        m_at += n;
        return n;
    }

private:
    QByteArrayView m_input;
    SplitPlan *m_plan;
    qsizetype m_at = 0;
};

Request take(HttpParser &parser)
{
    Request request;
    request.method = parser.method();
    request.target = parser.target();
    request.httpMajor = parser.httpMajor();
    request.httpMinor = parser.httpMinor();
    request.headers = parser.headers().fields();
    request.isChunked = parser.isChunked();
    request.shouldKeepAlive = parser.shouldKeepAlive();
    const qint64 seen = parser.bodyBytesSeen();
    request.body = parser.takeBody();
    FUZZ_ASSERT(request.body.size() == seen, "body size differs from the bytes counted");
    if (parser.hasContentLength() && !parser.isChunked())
        FUZZ_ASSERT(quint64(request.body.size()) == parser.contentLength(),
                    "body size differs from Content-Length");
    FUZZ_ASSERT(request.body.size() <= kMaxBodyBytes, "body over the limit");
    return request;
}

Outcome parse(QByteArrayView input, SplitPlan *plan)
{
    HttpParser parser(HttpParser::Kind::Request);
    parser.setMaxBodyBytes(kMaxBodyBytes);
    Socket socket(input, plan);
    Outcome outcome;
    QByteArray pending;
    bool isHeadChecked = false;
    for (;;) {
        if (parser.hasError() || parser.isUpgrade())
            break;
        if (parser.isMessageComplete()) {
            outcome.requests.append(take(parser));
            parser.resume();
            isHeadChecked = false;
            if (outcome.requests.size() > 64)
                break;
        }
        if (parser.isHeadComplete() && !isHeadChecked) {
            isHeadChecked = true;
            (void)parser.headBytes();
            parser.reserveBody();
        }
        const qint64 bodyLeft = isHeadChecked && pending.isEmpty() ? parser.bodyBytesLeft() : 0;
        if (bodyLeft > 0) {
            if (socket.atEnd())
                break;
            char *tail = parser.bodyTail(qsizetype(std::min<qint64>(bodyLeft, 64 * 1024)));
            const qsizetype n = socket.read(tail, qsizetype(std::min<qint64>(bodyLeft, 64 * 1024)));
            const qsizetype consumed = parser.feed(tail, n);
            FUZZ_ASSERT(consumed == n || parser.hasError(), "in-place body bytes not consumed");
            continue;
        }
        if (pending.isEmpty()) {
            if (socket.atEnd())
                break;
            char buffer[16 * 1024];
            pending.append(buffer, socket.read(buffer, sizeof(buffer)));
        }
        const qsizetype consumed = parser.feed(pending.constData(), pending.size());
        FUZZ_ASSERT(consumed >= 0 && consumed <= pending.size(), "consumed out of range");
        pending.remove(0, consumed);
        (void)parser.headBytes(); // ClientConnection checks it against its limit here
        if (consumed == 0 && !parser.isMessageComplete() && !parser.hasError()
            && !parser.isUpgrade()) {
            FUZZ_ASSERT(pending.isEmpty(), "the parser stalled on pending bytes");
        }
    }
    if (!parser.hasError() && !parser.isMessageComplete() && !parser.isUpgrade()) {
        parser.feedEof();
        if (parser.isMessageComplete())
            outcome.requests.append(take(parser));
    }
    outcome.hasError = parser.hasError();
    outcome.isHeaderOverflow = parser.isHeaderOverflow();
    outcome.isBodyOverflow = parser.isBodyOverflow();
    outcome.isUpgrade = parser.isUpgrade();
    // 501 (an unknown method) and 505 (the HTTP/2 preface) are told from 400 only when the
    // bytes up to the method's space arrived with the first byte http-parser refuses, so they
    // depend on how the bytes were cut; all three refuse the request.
    outcome.errorStatus = parser.hasError() ? parser.errorStatus() : 0;
    if (outcome.errorStatus == 501 || outcome.errorStatus == 505)
        outcome.errorStatus = 400;
    (void)parser.errorString();
    return outcome;
}

// What a run found, for the log of a failed comparison.
void print(const char *label, const Outcome &outcome)
{
    std::fprintf(stderr, "%s: %lld requests, error %d (status %d), upgrade %d\n", label,
                 qint64(outcome.requests.size()), outcome.hasError, outcome.errorStatus,
                 outcome.isUpgrade);
    for (const Request &request : outcome.requests)
        std::fprintf(stderr, "  %s %s HTTP/%d.%d, %lld headers, body %lld bytes%s\n",
                     request.method.constData(), request.target.constData(), request.httpMajor,
                     request.httpMinor, qint64(request.headers.size()), qint64(request.body.size()),
                     request.isChunked ? " (chunked)" : "");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    const Outcome whole = parse(input, nullptr);
    SplitPlan plan(data, size);
    const Outcome pieces = parse(input, &plan);
    if (!(pieces == whole)) {
        print("whole", whole);
        print("pieces", pieces);
    }
    FUZZ_ASSERT(pieces.requests.size() == whole.requests.size(), "cut points changed the count");
    FUZZ_ASSERT(pieces == whole, "cut points changed the requests");
    return 0;
}
