#include "ClientConnection.h"

#include "../MonotonicClock.h"
#include "ErrorResponse.h"

#include <algorithm>

namespace tollgate {

namespace {
// Above this much unsent output, upstream reads pause until the client catches up.
constexpr qint64 kDrainedBelow = 256 * 1024;
// Heads, and bodies that cannot be read in place, are read in chunks of this size.
constexpr qint64 kReadChunkBytes = 64 * 1024;
// At most this much is read from one client per wakeup, so that one fast upload does not
// hold up the other connections.
constexpr qint64 kReadBudgetBytes = 4 * 1024 * 1024;
// A body the handler watches is read in steps of this size: what it takes of each step (its
// scan, and what it sends on) overlaps with the rest still arriving.
constexpr qint64 kWatchedReadBytes = 512 * 1024;
// The Anthropic API's paths and queries are short; a longer target is refused (414).
constexpr qsizetype kMaxTargetBytes = 16 * 1024;
// Each of these many body bytes received adds a second to the body timeout.
constexpr qint64 kMinBodyBytesPerSecond = 16 * 1024;
} // namespace

ClientConnection::ClientConnection(qintptr descriptor, Handler *handler, const Limits &limits,
                                   QObject *parent)
    : QObject(parent)
    , m_stream(new TcpStream(descriptor, this))
    , m_handler(handler)
    , m_limits(limits)
    , m_parser(HttpParser::Kind::Request)
{
    m_parser.setMaxBodyBytes(m_limits.maxBodyBytes);
    m_stateSinceUs = monotonicUs();
    m_lastReadUs = m_stateSinceUs;
    connect(m_stream, &TcpStream::readyRead, this, &ClientConnection::onReadyRead);
    connect(m_stream, &TcpStream::closed, this, &ClientConnection::onDisconnected);
    connect(m_stream, &TcpStream::bytesWritten, this, &ClientConnection::onBytesWritten);
}

ClientConnection::~ClientConnection() = default;

void ClientConnection::start()
{
    onReadyRead();
}

qint64 ClientConnection::bytesToWrite() const
{
    return m_stream->bytesToWrite();
}

void ClientConnection::setDrainedCallback(std::function<void()> callback)
{
    m_drainedCallback = std::move(callback);
}

void ClientConnection::onReadyRead()
{
    // Reads the request until the kernel has no more of it (a read comes back short), within
    // the budget.
    for (qint64 budget = kReadBudgetBytes; budget > 0;) {
        if (m_state == State::Closed || m_state == State::Closing)
            return;
        const qint64 bodyLeft = bodyBytesToReadInPlace();
        const qint64 step = m_watchesBody ? kWatchedReadBytes : budget;
        const qint64 wanted = bodyLeft > 0 ? std::min({bodyLeft, budget, step}) : kReadChunkBytes;
        const qint64 n = bodyLeft > 0 ? readBodyInPlace(wanted) : readPending();
        // Short: nothing more for now, or the connection ended. A complete request is answered
        // before anything after it is read.
        if (n < wanted || m_state != State::Reading)
            return;
        budget -= n;
    }
}

// How many bytes of the request body may be read straight into it: the rest of a body framed
// by Content-Length once its head was accepted, when no other input waits before it.
qint64 ClientConnection::bodyBytesToReadInPlace() const
{
    if (m_state != State::Reading || !m_isHeadChecked || !m_pending.isEmpty())
        return 0;
    return m_parser.bodyBytesLeft();
}

// A body of megabytes arrives in one buffer, read by the kernel where it stays: no copy
// through a read buffer and the pending input, and no growing by doubling.
qint64 ClientConnection::readBodyInPlace(qint64 size)
{
    char *tail = m_parser.bodyTail(qsizetype(size));
    const qint64 n = m_stream->read(tail, size);
    if (n < 0) {
        onDisconnected();
        return -1;
    }
    if (n == 0)
        return 0;
    m_lastReadUs = monotonicUs();
    const qsizetype consumed = m_parser.feed(tail, qsizetype(n));
    checkParsed(consumed);
    return n;
}

qint64 ClientConnection::readPending()
{
    char buffer[kReadChunkBytes];
    const qint64 n = m_stream->read(buffer, sizeof(buffer));
    if (n < 0) {
        onDisconnected();
        return -1;
    }
    if (n == 0)
        return 0;
    m_pending.append(buffer, qsizetype(n));
    m_lastReadUs = monotonicUs();
    if (m_state == State::Responding) {
        // A pipelined request waits for the current response; bound what it may hold.
        if (m_pending.size() > m_limits.maxHeaderBytes + m_limits.maxBodyBytes)
            close();
        return n;
    }
    processInput();
    return n;
}

void ClientConnection::processInput()
{
    if (m_isProcessing)
        return; // the outer call continues with the new state
    m_isProcessing = true;
    while ((m_state == State::Idle || m_state == State::Reading) && !m_pending.isEmpty()) {
        if (!stepParser())
            break;
    }
    m_isProcessing = false;
}

// Feeds pending bytes once; returns false when more input is needed or the connection ends.
bool ClientConnection::stepParser()
{
    if (m_state == State::Idle) {
        m_state = State::Reading;
        m_stateSinceUs = monotonicUs();
        m_isHeadChecked = false;
        m_watchesBody = false;
        m_isDispatchedEarly = false;
    }
    const qsizetype consumed = m_parser.feed(m_pending.constData(), m_pending.size());
    if (consumed >= m_pending.size())
        m_pending.clear();
    else
        m_pending.remove(0, consumed);
    return checkParsed(consumed);
}

// After a feed: checks the head once it is complete, enforces the limits, and hands over a
// complete request. Returns false when more input is needed or the connection ends.
bool ClientConnection::checkParsed(qsizetype consumed)
{
    if (m_parser.target().size() > kMaxTargetBytes && !m_parser.hasError()) {
        refuse(414, QStringLiteral("Request target is longer than %1 bytes").arg(kMaxTargetBytes));
        return false;
    }
    if (m_parser.isHeadComplete() && !m_isHeadChecked && !m_parser.isUpgrade()
        && !m_parser.isHeaderOverflow()) {
        m_isHeadChecked = true;
        if (m_parser.httpMajor() != 1) {
            refuse(505, QStringLiteral("Only HTTP/1.0 and HTTP/1.1 are supported"));
            return false;
        }
        if (const QString problem = hostProblem(); !problem.isEmpty()) {
            refuse(400, problem);
            return false;
        }
        if (m_parser.headBytes() > m_limits.maxHeaderBytes) {
            refuse(431,
                   QStringLiteral("Request header block is larger than %1 bytes")
                       .arg(m_limits.maxHeaderBytes));
            return false;
        }
        const HeadDecision decision = m_handler->checkHead(this, m_parser);
        m_adaptsResponses = decision.adaptsResponses;
        m_watchesBody = decision.watchesBody;
        if (decision.refuseStatus != 0) {
            refuse(decision.refuseStatus, decision.message);
            return false;
        }
        m_requestMaxBody = decision.maxBodyBytes;
        m_bodySinceUs = monotonicUs();
        if (m_parser.hasContentLength() && m_parser.contentLength() > quint64(m_requestMaxBody)) {
            refuse(413,
                   QStringLiteral("Request body of %1 bytes is larger than the limit of %2")
                       .arg(m_parser.contentLength())
                       .arg(m_requestMaxBody));
            return false;
        }
        m_parser.reserveBody();
        const QByteArray expect = m_parser.headers().value(QByteArrayLiteral("expect"));
        if (!expect.isNull() && !m_parser.isMessageComplete()) {
            if (qstricmp(expect.trimmed().constData(), "100-continue") != 0) {
                refuse(417, QStringLiteral("Unsupported Expect header"));
                return false;
            }
            m_out.append("HTTP/1.1 100 Continue\r\n\r\n");
            flush();
        }
    }

    if (m_parser.isUpgrade()) {
        refuse(400, QStringLiteral("Protocol upgrades and CONNECT are not supported"));
        return false;
    }
    if (m_parser.hasError()) {
        const int status = m_parser.errorStatus();
        if (m_parser.isHeaderOverflow())
            refuse(431, QStringLiteral("Request header block is too large"));
        else if (m_parser.isBodyOverflow())
            refuse(413, QStringLiteral("Request body is larger than the limit"));
        else if (status == 400)
            refuse(400, QStringLiteral("Malformed HTTP request: %1").arg(m_parser.errorString()));
        else
            refuse(status, m_parser.errorString());
        return false;
    }
    if (!m_parser.isHeadComplete() && m_parser.headBytes() > m_limits.maxHeaderBytes) {
        refuse(431,
               QStringLiteral("Request header block is larger than %1 bytes")
                   .arg(m_limits.maxHeaderBytes));
        return false;
    }
    if (m_isHeadChecked
        && std::max<quint64>(quint64(m_parser.bodyBytesSeen()), m_parser.bodyBytesAnnounced())
            > quint64(m_requestMaxBody)) {
        refuse(413,
               QStringLiteral("Request body is larger than the limit of %1 bytes")
                   .arg(m_requestMaxBody));
        return false;
    }
    if (!m_parser.isMessageComplete()) {
        if (m_watchesBody && consumed > 0 && m_parser.bodySize() > 0)
            m_handler->bodyArrived(this, m_parser.bodySoFar());
        return consumed > 0;
    }

    HttpRequest request;
    request.method = m_parser.method();
    request.target = m_parser.target();
    request.httpMinor = m_parser.httpMinor();
    request.headers = m_parser.headers();
    request.body = m_parser.takeBody();
    request.isChunked = m_parser.isChunked();
    request.receivedAtUs = monotonicUs();
    m_hasHadRequest = true;
    m_closeAfterResponse = !m_parser.shouldKeepAlive();
    m_hasResponseStarted = false;
    m_state = State::Responding;
    m_stateSinceUs = request.receivedAtUs;
    m_handler->handleRequest(this, std::move(request));
    return true;
}

// RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with more than one, is
// answered 400.
QString ClientConnection::hostProblem() const
{
    const auto &fields = m_parser.headers().fields();
    const auto hosts = std::count_if(fields.begin(), fields.end(), [](const HeaderList::Field &f) {
        return HeaderList::nameEquals(f.name, "host");
    });
    if (hosts > 1)
        return QStringLiteral("More than one Host header (RFC 9112 §3.2)");
    if (hosts == 0 && m_parser.httpMinor() >= 1)
        return QStringLiteral("HTTP/1.1 request without a Host header (RFC 9112 §3.2)");
    return {};
}

void ClientConnection::refuse(int status, const QString &message)
{
    const QByteArray requestId = m_handler->requestRefused(this, m_parser, status, message);
    m_state = State::Responding;
    sendResponse(ErrorResponse::httpResponse(status, message, requestId, true), true);
}

void ClientConnection::flush()
{
    if (m_out.isEmpty())
        return;
    // One write per upstream read, sent now rather than on the next event-loop pass: the
    // head and the first body bytes leave together, and every event reaches the client
    // as soon as it was read.
    m_stream->write(m_out.constData(), m_out.size());
    m_out.resize(0);
}

// An answer to a request whose body has not all arrived (a local refusal of a request that was
// handed on early): the rest of the body is not read, so the connection ends after it.
bool ClientConnection::answerBeforeBodyEnds()
{
    if (m_state != State::Reading || !m_isDispatchedEarly)
        return false;
    m_state = State::Responding;
    m_stateSinceUs = monotonicUs();
    m_closeAfterResponse = true;
    m_hasResponseStarted = false;
    return true;
}

void ClientConnection::beginResponse(QByteArray head, Framing framing)
{
    answerBeforeBodyEnds();
    if (m_state != State::Responding)
        return;
    m_hasResponseStarted = true;
    m_isChunkedResponse = false;
    if (framing == Framing::Chunked) {
        if (m_parser.httpMinor() >= 1) {
            m_isChunkedResponse = true;
            head.append("Transfer-Encoding: chunked\r\n");
        } else {
            m_closeAfterResponse = true; // HTTP/1.0: the body ends with the connection
        }
    }
    if (m_closeAfterResponse)
        head.append("Connection: close\r\n");
    head.append("\r\n");
    m_out.append(head);
}

void ClientConnection::writeBody(const QByteArray &data)
{
    if (m_state != State::Responding || data.isEmpty())
        return;
    if (!m_isChunkedResponse) {
        m_out.append(data);
        return;
    }
    m_out.append(QByteArray::number(data.size(), 16)).append("\r\n", 2);
    m_out.append(data).append("\r\n", 2);
}

void ClientConnection::endResponseBody()
{
    if (m_state != State::Responding)
        return;
    if (m_isChunkedResponse)
        m_out.append("0\r\n\r\n", 5);
    m_isChunkedResponse = false; // the body has ended: nothing more is framed as a chunk
    flush();
}

void ClientConnection::finishResponse(bool forceClose)
{
    if (m_state != State::Responding)
        return;
    endResponseBody();
    if (forceClose || m_closeAfterResponse) {
        m_state = State::Closing;
        m_stateSinceUs = monotonicUs();
        m_stream->closeWhenWritten();
        return;
    }
    m_state = State::Idle;
    m_isChunkedResponse = false;
    m_hasResponseStarted = false;
    m_drainedCallback = nullptr;
    m_parser.resume();
    m_stateSinceUs = monotonicUs();
    m_handler->connectionIdle(this); // may hand the connection on, or close it
    if (m_state == State::Idle)
        processInput();
}

void ClientConnection::setHandler(Handler *handler, const Limits &limits)
{
    m_handler = handler;
    m_limits = limits;
}

void ClientConnection::sendResponse(const QByteArray &bytes, bool closeAfter)
{
    const bool isEarly = answerBeforeBodyEnds();
    if (m_state != State::Responding)
        return;
    m_hasResponseStarted = true;
    QByteArray response = m_adaptsResponses ? m_handler->adaptResponse(bytes) : bytes;
    if (isEarly) {
        // The client is told the connection ends here, with the rest of its body unread.
        const qsizetype headEnd = response.indexOf("\r\n\r\n");
        if (headEnd >= 0
            && !QByteArrayView(response).first(headEnd).toByteArray().toLower().contains(
                "\r\nconnection:"))
            response.insert(headEnd + 2, "Connection: close\r\n");
    }
    m_out.append(response);
    m_isChunkedResponse = false;
    finishResponse(closeAfter);
}

void ClientConnection::abortResponse()
{
    if (m_state == State::Closed || m_state == State::Closing)
        return;
    flush();
    m_state = State::Closing;
    m_stateSinceUs = monotonicUs();
    m_stream->closeWhenWritten();
}

void ClientConnection::close()
{
    if (m_state == State::Closed)
        return;
    m_stream->close(); // emits closed(), which ends up in onDisconnected()
    onDisconnected();
}

void ClientConnection::onBytesWritten()
{
    if (m_drainedCallback && m_stream->bytesToWrite() < kDrainedBelow)
        m_drainedCallback();
}

void ClientConnection::onDisconnected()
{
    if (m_state == State::Closed)
        return;
    m_state = State::Closed;
    m_drainedCallback = nullptr;
    m_handler->connectionClosed(this);
    deleteLater();
}

void ClientConnection::checkTimeouts(qint64 nowUs)
{
    switch (m_state) {
    case State::Idle: {
        // A connection that never sent a request gets no more time than a head would.
        const int idleMs = m_hasHadRequest
            ? m_limits.keepAliveTimeoutMs
            : std::min(m_limits.keepAliveTimeoutMs, m_limits.headerReadTimeoutMs);
        if (nowUs - m_stateSinceUs > qint64(idleMs) * 1000)
            close();
        break;
    }
    case State::Reading:
        // The head must arrive within the header timeout, however it trickles in. The body
        // must not stall for that long either, and must arrive within the body timeout plus
        // a second for every kMinBodyBytesPerSecond received: a large upload on a slow link
        // gets its time, a body trickled byte by byte does not.
        if (!m_parser.isHeadComplete()
            && nowUs - m_stateSinceUs > qint64(m_limits.headerReadTimeoutMs) * 1000) {
            refuse(408, QStringLiteral("Timed out reading the request header"));
        } else if (m_parser.isHeadComplete()
                   && (nowUs - m_lastReadUs > qint64(m_limits.headerReadTimeoutMs) * 1000
                       || nowUs - m_bodySinceUs > bodyAllowanceUs())) {
            refuse(408, QStringLiteral("Timed out reading the request body"));
        }
        break;
    case State::Closing:
        // A client that stops reading must not keep the connection forever.
        if (nowUs - m_stateSinceUs > qint64(m_limits.headerReadTimeoutMs) * 1000)
            close();
        break;
    case State::Responding:
    case State::Closed:
        break;
    }
}

qint64 ClientConnection::bodyAllowanceUs() const
{
    return qint64(m_limits.bodyReadTimeoutMs) * 1000
        + m_parser.bodyBytesSeen() * 1'000'000 / kMinBodyBytesPerSecond;
}

} // namespace tollgate
