#pragma once

#include <QAbstractEventDispatcher>
#include <atomic>
#include <vector>

namespace tollgate {

// Event loop for the proxy thread on Linux, built on epoll. Qt's own dispatchers poll()
// every socket on every pass (1,000 sockets with 500 streams) and, with GLib, wake
// themselves with an eventfd write each time a socket notifier is toggled, which
// QTcpSocket does several times per request. This one waits only for active sockets,
// applies notifier changes to the kernel once per pass (a toggle that is undone within
// the pass costs nothing), and lets same-thread posted events skip the wake-up write.
class EpollEventDispatcher : public QAbstractEventDispatcher
{
    Q_OBJECT

public:
    explicit EpollEventDispatcher(QObject *parent = nullptr);
    ~EpollEventDispatcher() override;

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;

    void registerSocketNotifier(QSocketNotifier *notifier) override;
    void unregisterSocketNotifier(QSocketNotifier *notifier) override;

    void registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                       QObject *object) override;
    bool unregisterTimer(int timerId) override;
    bool unregisterTimers(QObject *object) override;
    QList<TimerInfo> registeredTimers(QObject *object) const override;
    int remainingTime(int timerId) override;

    void wakeUp() override;
    void interrupt() override;
    void startingUp() override;

private:
    struct Watch
    {
        QSocketNotifier *read = nullptr;
        QSocketNotifier *write = nullptr;
        QSocketNotifier *exception = nullptr;
        quint32 kernelEvents = 0; // what epoll has for this fd
        bool isInKernel = false;
        bool isDirty = false;
        bool isUsed() const { return read || write || exception || isInKernel || isDirty; }
    };

    struct Timer
    {
        int id;
        qint64 intervalMs;
        Qt::TimerType type;
        QObject *object;
        qint64 deadlineUs;
    };

    quint32 wantedEvents(const Watch &watch) const;
    void applyChange(int fd);
    void applyChanges();
    int activateSocket(int fd, quint32 events);
    int activateTimers();
    int waitTimeoutMs() const;

    int m_epoll = -1;
    int m_wakeFd = -1;
    Qt::HANDLE m_ownerThread = nullptr;
    // Indexed by descriptor: the kernel hands out the lowest free numbers, so the table stays
    // as long as the most sockets open at once, and a lookup per event is one index.
    std::vector<Watch> m_watches;
    Watch *watchOf(int fd)
    {
        return fd >= 0 && size_t(fd) < m_watches.size() && m_watches[size_t(fd)].isUsed()
            ? &m_watches[size_t(fd)]
            : nullptr;
    }
    std::vector<int> m_dirty;
    std::vector<Timer> m_timers;
    std::atomic<bool> m_isWakeUpPending {false}; // eventfd written, not yet read
    std::atomic<bool> m_isInterrupted {false};
    bool m_hasLocalPostedEvents = false; // posted from this thread since the last pass
};

} // namespace tollgate
