#include "SingleInstance.h"

#include <QCryptographicHash>
#include <QDir>
#include <QLocalServer>
#include <QLocalSocket>
#include <QStandardPaths>

namespace tollgate {

namespace {
const QByteArray kActivate = QByteArrayLiteral("activate\n");
const QByteArray kAcknowledged = QByteArrayLiteral("ok\n");
constexpr int kAnswerTimeoutMs = 3000;
} // namespace

QString SingleInstance::defaultServerName()
{
    QString user = qEnvironmentVariable("USER");
    if (user.isEmpty())
        user = qEnvironmentVariable("USERNAME");
    const QByteArray identity =
        (user + QLatin1Char('\n') + QDir::homePath() + QLatin1Char('\n')
         + QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation))
            .toUtf8();
    return QStringLiteral("tollgate-")
        + QString::fromLatin1(
               QCryptographicHash::hash(identity, QCryptographicHash::Sha256).toHex().left(16));
}

SingleInstance::SingleInstance(QString serverName, QObject *parent)
    : QObject(parent)
    , m_serverName(std::move(serverName))
{
    m_answerTimer.setSingleShot(true);
    m_answerTimer.setInterval(kAnswerTimeoutMs);
    // The other instance took the request but is too busy to answer: it still runs, and two
    // instances must not fight over the port.
    connect(&m_answerTimer, &QTimer::timeout, this, [this] {
        if (m_client)
            m_client->abort();
        m_isDecided = true;
        emit otherInstanceFound();
    });
}

SingleInstance::~SingleInstance() = default;

void SingleInstance::start()
{
    m_isDecided = false;
    m_client = new QLocalSocket(this);
    connect(m_client, &QLocalSocket::connected, this, &SingleInstance::onConnected);
    connect(m_client, &QLocalSocket::errorOccurred, this, &SingleInstance::onConnectFailed);
    m_client->connectToServer(m_serverName);
}

void SingleInstance::onConnected()
{
    QLocalSocket *socket = m_client;
    connect(socket, &QLocalSocket::readyRead, this, [this, socket] {
        if (m_isDecided || !socket->canReadLine())
            return;
        m_isDecided = true;
        m_answerTimer.stop();
        socket->disconnectFromServer();
        emit otherInstanceFound();
    });
    socket->write(kActivate);
    m_answerTimer.start();
}

void SingleInstance::onConnectFailed()
{
    if (m_isDecided)
        return;
    if (m_client && m_client->state() == QLocalSocket::ConnectedState)
        return; // an error after connecting: the answer timer decides
    if (m_client && m_client->error() == QLocalSocket::PeerClosedError && m_answerTimer.isActive())
        return; // the other instance hung up after reading: the timer decides
    if (m_client)
        m_client->deleteLater();
    listen();
}

void SingleInstance::listen()
{
    auto *server = new QLocalServer(this);
    server->setSocketOptions(QLocalServer::UserAccessOption);
    if (!server->listen(m_serverName)) {
        delete server;
        if (!m_hasListenedOnce) {
            // Nobody answered, yet the name is taken: a socket file left by an instance that
            // crashed. Remove it and try once more (connecting first, in case another
            // instance just took the name).
            m_hasListenedOnce = true;
            QLocalServer::removeServer(m_serverName);
            start();
            return;
        }
        m_error = tr("Cannot listen on the local socket %1").arg(m_serverName);
        // Running without single-instance protection beats not running at all.
        m_isDecided = true;
        emit becamePrimary();
        return;
    }
    m_server = server;
    connect(m_server, &QLocalServer::newConnection, this, &SingleInstance::onNewConnection);
    m_isDecided = true;
    emit becamePrimary();
}

void SingleInstance::onNewConnection()
{
    while (QLocalSocket *socket = m_server->nextPendingConnection()) {
        connect(socket, &QLocalSocket::disconnected, socket, &QObject::deleteLater);
        connect(socket, &QLocalSocket::readyRead, this, [this, socket] {
            if (!socket->canReadLine())
                return;
            const QByteArray line = socket->readLine();
            if (line == kActivate) {
                socket->write(kAcknowledged);
                emit activationRequested();
            } else {
                socket->disconnectFromServer();
            }
        });
    }
}

} // namespace tollgate
