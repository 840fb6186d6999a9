#include "TestClient.h"

#include "HttpHead.h"
#include "http/ErrorResponse.h"

#include <QEventLoop>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPointer>
#include <QTcpSocket>
#include <QTimer>
#include <zlib.h>
#ifndef _WIN32
#include <sys/socket.h>
#else
#include <winsock2.h>
#endif

namespace tollgate::test {

QByteArray TestClient::Response::header(const QByteArray &name) const
{
    return HttpHead::value(headers, name);
}

int TestClient::Response::headerCount(const QByteArray &name) const
{
    return HttpHead::count(headers, name);
}

bool TestClient::Response::isAnthropicError(int expectedStatus) const
{
    const QJsonObject root = QJsonDocument::fromJson(body).object();
    const QJsonObject error = root.value(QLatin1String("error")).toObject();
    return status == expectedStatus && header("content-type").startsWith("application/json")
        && root.value(QLatin1String("type")).toString() == QLatin1String("error")
        && error.value(QLatin1String("type")).toString().toLatin1()
        == ErrorResponse::typeForStatus(expectedStatus)
        && !error.value(QLatin1String("message")).toString().isEmpty();
}

TestClient::TestClient(QObject *parent)
    : QObject(parent)
    , m_socket(new QTcpSocket(this))
{
    m_clock.start();
    connect(m_socket, &QTcpSocket::connected, this, [this] {
        m_wasConnected = true;
        emit connected();
        emit progress();
    });
    connect(m_socket, &QTcpSocket::readyRead, this, &TestClient::onReadyRead);
    connect(m_socket, &QTcpSocket::disconnected, this, &TestClient::onEnded);
    connect(m_socket, &QTcpSocket::errorOccurred, this, [this] {
        // A refused connection never emits disconnected().
        if (m_socket->state() == QAbstractSocket::UnconnectedState)
            onEnded();
    });
}

TestClient::~TestClient()
{
    m_socket->disconnect(this);
    m_socket->abort();
}

void TestClient::connectTo(quint16 port)
{
    m_socket->connectToHost(QHostAddress::LocalHost, port);
}

void TestClient::sendRaw(const QByteArray &bytes)
{
    m_out += bytes;
    trackOutgoing();
    m_socket->write(bytes);
}

void TestClient::send(const QByteArray &method, const QByteArray &target, const Headers &headers,
                      const QByteArray &body)
{
    sendRaw(request(method, target, headers, body));
}

void TestClient::close()
{
    m_closedByUs = true;
    m_socket->disconnectFromHost();
}

void TestClient::abort()
{
    m_closedByUs = true;
    m_socket->abort();
}

void TestClient::reset()
{
    m_closedByUs = true;
    m_socket->flush();
    const qintptr fd = m_socket->socketDescriptor();
    if (fd >= 0) {
        const linger noLinger {1, 0};
        ::setsockopt(decltype(socket(0, 0, 0))(fd), SOL_SOCKET, SO_LINGER,
                     reinterpret_cast<const char *>(&noLinger), sizeof(noLinger));
    }
    m_socket->abort();
}

bool TestClient::isConnected() const
{
    return m_socket->state() == QAbstractSocket::ConnectedState;
}

const TestClient::Response *TestClient::partialResponse() const
{
    return m_inResponse ? &m_current : nullptr;
}

bool TestClient::waitUntil(const std::function<bool()> &condition, int timeoutMs)
{
    if (condition())
        return true;
    QEventLoop loop;
    QTimer deadline;
    deadline.setSingleShot(true);
    connect(&deadline, &QTimer::timeout, &loop, &QEventLoop::quit);
    // Conditions may also depend on other objects (a mock, the proxy): look again now and then.
    QTimer poll;
    connect(&poll, &QTimer::timeout, &loop, [&] {
        if (condition())
            loop.quit();
    });
    connect(this, &TestClient::progress, &loop, [&] {
        if (condition())
            loop.quit();
    });
    deadline.start(timeoutMs);
    poll.start(5);
    loop.exec();
    return condition();
}

bool TestClient::waitForConnected(int timeoutMs)
{
    return waitUntil([this] { return isConnected() || m_ended; }, timeoutMs) && isConnected();
}

bool TestClient::waitForResponses(int n, int timeoutMs)
{
    waitUntil([this, n] { return m_responses.size() >= n || m_ended; }, timeoutMs);
    return m_responses.size() >= n;
}

bool TestClient::waitForClose(int timeoutMs)
{
    return waitUntil([this] { return m_ended; }, timeoutMs);
}

QByteArray TestClient::request(const QByteArray &method, const QByteArray &target,
                               const Headers &headers, const QByteArray &body)
{
    QByteArray out = method + ' ' + target + " HTTP/1.1\r\n";
    if (!HttpHead::has(headers, "host"))
        out += "Host: 127.0.0.1\r\n";
    for (const auto &header : headers)
        out += header.first + ": " + header.second + "\r\n";
    const bool wantsLength =
        !body.isEmpty() || method == "POST" || method == "PUT" || method == "PATCH";
    if (wantsLength && !HttpHead::has(headers, "content-length")
        && !HttpHead::has(headers, "transfer-encoding"))
        out += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    out += "\r\n";
    out += body;
    return out;
}

QByteArray TestClient::gunzip(const QByteArray &data, bool *ok)
{
    z_stream strm = z_stream();
    QByteArray out;
    bool ended = false;
    // windowBits 15 + 32: gzip or zlib header, detected.
    if (inflateInit2(&strm, 15 + 32) == Z_OK) {
        strm.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.constData()));
        strm.avail_in = static_cast<uInt>(data.size());
        char buffer[16384];
        for (;;) {
            strm.next_out = reinterpret_cast<Bytef *>(buffer);
            strm.avail_out = sizeof buffer;
            const int rc = inflate(&strm, Z_NO_FLUSH);
            out.append(buffer, qsizetype(sizeof buffer - strm.avail_out));
            if (rc == Z_STREAM_END) {
                ended = true;
                break;
            }
            if (rc != Z_OK || (strm.avail_in == 0 && strm.avail_out != 0))
                break;
        }
        inflateEnd(&strm);
    }
    if (ok)
        *ok = ended && strm.avail_in == 0;
    return out;
}

void TestClient::onReadyRead()
{
    const qint64 now = elapsedUs();
    const QByteArray data = m_socket->readAll();
    if (data.isEmpty())
        return;
    m_received += data;
    m_in += data;
    parseIncoming(now);
}

void TestClient::onEnded()
{
    if (m_parsing) {
        m_endPending = true; // a slot closed us while we were parsing: finish that first
        return;
    }
    if (m_ended)
        return;
    if (m_socket->bytesAvailable() > 0)
        onReadyRead();
    m_ended = true;
    const qint64 now = elapsedUs();
    m_closedByServer = m_wasConnected && !m_closedByUs;
    if (m_inResponse) {
        m_current.connectionClosed = m_closedByServer;
        finishResponse(now, m_framing == Framing::UntilClose);
    } else if (m_closedByServer && !m_responses.isEmpty()) {
        m_responses.last().connectionClosed = true;
    }
    emit connectionEnded();
    emit progress();
}

void TestClient::parseIncoming(qint64 nowUs)
{
    m_parsing = true;
    QPointer<TestClient> self(this);
    while (self && !m_parseError && !m_in.isEmpty()) {
        if (!m_inResponse) {
            const qsizetype end = HttpHead::endOf(m_in);
            if (end < 0)
                break;
            const QByteArray raw = m_in.left(end);
            m_in.remove(0, end);
            HttpHead head;
            if (!HttpHead::parse(raw, &head) || !head.first.startsWith("HTTP/")) {
                m_parseError = true;
                break;
            }
            Response response;
            bool ok = false;
            response.version = head.first;
            response.status = head.second.toInt(&ok);
            response.reason = head.third;
            response.headers = head.headers;
            response.rawHead = raw;
            response.headAtUs = nowUs;
            if (!ok) {
                m_parseError = true;
                break;
            }
            if (response.status >= 100 && response.status < 200 && response.status != 101) {
                response.complete = true;
                response.endAtUs = nowUs;
                m_interim.append(response);
                emit progress();
                continue;
            }
            const bool toHead = !m_sentMethods.isEmpty() && m_sentMethods.takeFirst() == "HEAD";
            const qint64 length = head.contentLength();
            response.chunked = head.isChunked();
            if (toHead || response.status == 204 || response.status == 304) {
                m_framing = Framing::None;
            } else if (response.chunked) {
                m_framing = Framing::Chunked;
                m_dechunker.reset();
            } else if (length >= 0) {
                m_framing = Framing::Length;
                m_bodyLeft = length;
            } else if (length == -2) {
                m_parseError = true;
                break;
            } else {
                m_framing = Framing::UntilClose;
            }
            m_current = response;
            m_inResponse = true;
            emit headReceived();
            emit progress();
            if (m_framing == Framing::None || (m_framing == Framing::Length && m_bodyLeft == 0))
                finishResponse(nowUs, true);
            continue;
        }

        QByteArray decoded;
        qsizetype used = 0;
        bool done = false;
        switch (m_framing) {
        case Framing::None:
            done = true;
            break;
        case Framing::Length:
            used = qMin<qint64>(m_bodyLeft, m_in.size());
            decoded = m_in.left(used);
            m_bodyLeft -= used;
            done = m_bodyLeft == 0;
            break;
        case Framing::Chunked:
            used = m_dechunker.feed(m_in.constData(), m_in.size(), &decoded);
            if (m_dechunker.hasError())
                m_parseError = true;
            done = m_dechunker.isDone();
            break;
        case Framing::UntilClose:
            used = m_in.size();
            decoded = m_in;
            break;
        }
        m_current.rawBody += m_in.left(used);
        m_in.remove(0, used);
        if (!decoded.isEmpty()) {
            m_current.body += decoded;
            m_current.bodyReads.append(BodyRead {nowUs, decoded});
            emit bodyReceived(decoded);
            emit progress();
        }
        if (done)
            finishResponse(nowUs, true);
        else if (used == 0 && !m_parseError)
            break;
    }
    if (!self)
        return;
    m_parsing = false;
    if (m_endPending) {
        m_endPending = false;
        onEnded();
    }
}

void TestClient::finishResponse(qint64 nowUs, bool complete)
{
    m_current.complete = complete;
    m_current.endAtUs = nowUs;
    m_responses.append(m_current);
    m_current = Response();
    m_inResponse = false;
    emit responseFinished();
    emit progress();
}

void TestClient::trackOutgoing()
{
    // Follows the requests we send, just enough to know each one's method in order.
    while (!m_outBroken && !m_out.isEmpty()) {
        if (m_outBodyLeft > 0) {
            const qsizetype n = qMin<qint64>(m_outBodyLeft, m_out.size());
            m_out.remove(0, n);
            m_outBodyLeft -= n;
            continue;
        }
        if (m_outChunked) {
            QByteArray ignored;
            m_out.remove(0, m_outDechunker.feed(m_out.constData(), m_out.size(), &ignored));
            if (m_outDechunker.hasError())
                m_outBroken = true;
            else if (m_outDechunker.isDone())
                m_outChunked = false;
            else
                break;
            continue;
        }
        while (m_out.startsWith('\n') || m_out.startsWith("\r\n"))
            m_out.remove(0, m_out.startsWith('\n') ? 1 : 2);
        const qsizetype end = HttpHead::endOf(m_out);
        if (end < 0)
            break;
        HttpHead head;
        const bool ok = HttpHead::parse(m_out.left(end), &head);
        m_out.remove(0, end);
        m_sentMethods.append(ok ? head.first : QByteArray());
        if (!ok)
            continue;
        if (head.isChunked()) {
            m_outChunked = true;
            m_outDechunker.reset();
        } else if (head.contentLength() > 0) {
            m_outBodyLeft = head.contentLength();
        }
    }
}

} // namespace tollgate::test
