#pragma once

#include <QObject>

class QSocketNotifier;

namespace tollgate {

// Turns SIGINT/SIGTERM (Ctrl+C and console close on Windows) into a Qt signal delivered
// on the event loop, so shutdown runs as normal code rather than in a signal handler; and
// SIGHUP (Unix), the usual "read your settings again" (systemctl reload), into another.
class SignalWatcher : public QObject
{
    Q_OBJECT

public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;

signals:
    void terminationRequested();
    void reloadRequested();

private:
    void onNotified();
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace tollgate
