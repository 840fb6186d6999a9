#pragma once

#include <QObject>
#include <QPointer>
#include <QTimer>

class QLocalServer;
class QLocalSocket;

namespace tollgate {

// One desktop Tollgate per user: the first instance listens on a local socket named for
// the user; a later launch connects to it, asks it to bring its window forward, and is
// told to exit. All of it is asynchronous: start() answers with becamePrimary() or
// otherInstanceFound() from the event loop.
class SingleInstance : public QObject
{
    Q_OBJECT

public:
    // "tollgate-" and a hash of the user and their config folder: two users on one machine
    // (or one user's two settings folders) run apart.
    static QString defaultServerName();

    explicit SingleInstance(QString serverName = defaultServerName(), QObject *parent = nullptr);
    ~SingleInstance() override;

    void start();
    bool isPrimary() const { return m_server != nullptr; }
    QString serverName() const { return m_serverName; }
    QString errorString() const { return m_error; }

signals:
    // This is the only instance; it now answers later launches.
    void becamePrimary();
    // Another instance runs and was asked to come forward: this one should exit.
    void otherInstanceFound();
    // A later launch asked this (primary) instance to show its window.
    void activationRequested();

private:
    void onConnected();
    void onConnectFailed();
    void listen();
    void onNewConnection();

    QString m_serverName;
    QString m_error;
    QLocalServer *m_server = nullptr;
    QPointer<QLocalSocket> m_client;
    QTimer m_answerTimer;
    bool m_hasListenedOnce = false;
    bool m_isDecided = false;
};

} // namespace tollgate
