#pragma once

#include "HttpParser.h"
#include "HttpRequest.h"
#include "TcpStream.h"

#include <QObject>
#include <QString>
#include <functional>

namespace tollgate {

// One client connection: reads requests one at a time (pipelined ones wait their turn),
// enforces the header and body limits and the client-side timeouts, and writes the
// response framing (Content-Length or chunked, keep-alive or close). What to answer is
// decided by the Handler.
class ClientConnection : public QObject
{
    Q_OBJECT

public:
    // Decision on a request head, taken before its body is read.
    struct HeadDecision
    {
        int refuseStatus = 0; // non-zero: answer this error and close
        QString message;
        qint64 maxBodyBytes = 0; // body limit for this request
        // The client speaks another dialect than Anthropic's: every response sent whole
        // (errors answered locally) goes through Handler::adaptResponse() first.
        bool adaptsResponses = false;
        // Handler::bodyArrived() is told of every piece of the body as it is read.
        bool watchesBody = false;
    };

    class Handler
    {
    public:
        virtual ~Handler() = default;
        virtual HeadDecision checkHead(ClientConnection *connection, const HttpParser &head) = 0;
        virtual void handleRequest(ClientConnection *connection, HttpRequest &&request) = 0;
        // More of the body of a request whose HeadDecision watches it was read: bodySoFar is
        // all of it so far, valid for this call only. handleRequest() follows once it is all in.
        virtual void bodyArrived(ClientConnection *connection, QByteArrayView bodySoFar)
        {
            Q_UNUSED(connection)
            Q_UNUSED(bodySoFar)
        }
        // Refused or malformed requests, answered by the connection itself; returns the
        // request id for the error body.
        virtual QByteArray requestRefused(ClientConnection *connection, const HttpParser &head,
                                          int status, const QString &message) = 0;
        virtual void connectionClosed(ClientConnection *connection) = 0;
        // A response was sent whole and the connection waits for the client's next request
        // (keep-alive). The handler may hand it on (setHandler()) or close it.
        virtual void connectionIdle(ClientConnection *connection) { Q_UNUSED(connection) }
        // A whole response for a request whose HeadDecision asked for it, in the client's
        // dialect.
        virtual QByteArray adaptResponse(const QByteArray &response) { return response; }
    };

    enum class Framing {
        None, // no body (204, 304, HEAD)
        Length, // the head already carries Content-Length
        Chunked, // chunked to HTTP/1.1 clients, close-delimited to HTTP/1.0 ones
    };

    struct Limits
    {
        qint64 maxHeaderBytes = 64 * 1024;
        qint64 maxBodyBytes = 256LL * 1024 * 1024; // hard cap; the handler sets the real one
        int headerReadTimeoutMs = 30'000; // the whole head; also a first request's wait
        int bodyReadTimeoutMs = 30'000; // the body, plus a second per 16 KiB received
        int keepAliveTimeoutMs = 120'000;
    };

    // Takes ownership of the accepted socket descriptor.
    ClientConnection(qintptr descriptor, Handler *handler, const Limits &limits,
                     QObject *parent = nullptr);
    ~ClientConnection() override;

    // Reads what the client sent along with its connect, without waiting a loop pass.
    void start();
    QHostAddress peerAddress() const { return m_stream->peerAddress(); }

    // Response side, one response per request, in order. Output is queued until flush()
    // (finishResponse() and sendResponse() flush themselves).
    // head: status line and header lines (each ending in CRLF), no blank line.
    void beginResponse(QByteArray head, Framing framing);
    void writeBody(const QByteArray &data);
    void flush();
    // Sends the response's last bytes now (a chunked body's last chunk, and whatever is
    // queued), so that bookkeeping before finishResponse() does not keep the client waiting.
    void endResponseBody();
    void finishResponse(bool forceClose = false);
    // Ends the connection now: a truncated body must not look complete to the client.
    void abortResponse();
    // A complete response built elsewhere (local answers and errors).
    void sendResponse(const QByteArray &bytes, bool closeAfter);

    bool hasResponseStarted() const { return m_hasResponseStarted; }
    // The request was handed on while its body still arrives (see bodyArrived()): an answer
    // may then come before the body's last byte, and the connection closes after it, since
    // the rest of the body is not read.
    void dispatchEarly() { m_isDispatchedEarly = true; }
    qint64 bytesToWrite() const;
    // Called once the client has taken the queued output (back-pressure for upstream reads).
    void setDrainedCallback(std::function<void()> callback);

    // Applies the header-read and keep-alive timeouts; called periodically.
    void checkTimeouts(qint64 nowUs);
    void close();
    // Between requests, with nothing of the next one received yet.
    bool isIdle() const { return m_state == State::Idle && m_pending.isEmpty(); }
    // Another handler for the requests to come (a server taking over), with its limits;
    // only between requests.
    void setHandler(Handler *handler, const Limits &limits);

private:
    enum class State { Idle, Reading, Responding, Closing, Closed };

    bool answerBeforeBodyEnds();

    void onReadyRead();
    qint64 bodyBytesToReadInPlace() const;
    qint64 readBodyInPlace(qint64 size);
    qint64 readPending();
    void onDisconnected();
    void onBytesWritten();
    void processInput();
    bool stepParser();
    bool checkParsed(qsizetype consumed);
    void refuse(int status, const QString &message);
    qint64 bodyAllowanceUs() const;
    QString hostProblem() const;

    TcpStream *m_stream;
    Handler *m_handler;
    Limits m_limits;
    HttpParser m_parser;
    QByteArray m_pending; // received, not yet parsed
    QByteArray m_out; // response bytes queued for the next flush()
    State m_state = State::Idle;
    bool m_isProcessing = false;
    bool m_isHeadChecked = false;
    bool m_adaptsResponses = false; // for the request in progress
    bool m_watchesBody = false; // for the request in progress
    bool m_isDispatchedEarly = false; // the request in progress, before its body's end
    bool m_hasResponseStarted = false;
    bool m_isChunkedResponse = false;
    bool m_closeAfterResponse = false;
    bool m_hasHadRequest = false; // a whole request arrived on this connection
    qint64 m_requestMaxBody = 0;
    qint64 m_stateSinceUs = 0;
    qint64 m_bodySinceUs = 0; // when the head of the request being read was accepted
    qint64 m_lastReadUs = 0;
    std::function<void()> m_drainedCallback;
};

} // namespace tollgate
