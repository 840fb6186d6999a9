#include "EpollEventDispatcher.h"

#include <QElapsedTimer>
#include <QSemaphore>
#include <QSignalSpy>
#include <QSocketNotifier>
#include <QTest>
#include <QThread>
#include <QTimer>
#include <atomic>
#include <unistd.h>

using namespace tollgate;

// Runs a thread on the epoll dispatcher and executes functions on it.
class EpollThread
{
public:
    EpollThread()
    {
        m_thread.setEventDispatcher(new EpollEventDispatcher);
        m_thread.start();
        m_context.moveToThread(&m_thread);
    }
    ~EpollThread()
    {
        QMetaObject::invokeMethod(
            &m_context, [this] { m_context.moveToThread(QCoreApplication::instance()->thread()); },
            Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }
    template<typename F>
    void run(F function)
    {
        QMetaObject::invokeMethod(&m_context, function, Qt::BlockingQueuedConnection);
    }
    QObject *context() { return &m_context; }

private:
    QThread m_thread;
    QObject m_context;
};

class tst_EpollEventDispatcher final : public QObject
{
    Q_OBJECT

private slots:
    void firesTimersOnTime();
    void stopsRepeatingTimerWhenKilled();
    void wakesForEventsPostedFromAnotherThread();
    void reportsReadableDescriptors();
    void survivesDescriptorReuseWithinOnePass();
    void deliversEventsPostedFromItsOwnThread();
};

void tst_EpollEventDispatcher::firesTimersOnTime()
{
    EpollThread thread;
    std::atomic<qint64> firedAfterMs {-1};
    QElapsedTimer clock;
    thread.run([&] {
        clock.start();
        QTimer::singleShot(80, thread.context(), [&] { firedAfterMs = clock.elapsed(); });
    });
    QTRY_VERIFY_WITH_TIMEOUT(firedAfterMs >= 0, 2000);
    QVERIFY2(firedAfterMs >= 79 && firedAfterMs < 300, qPrintable(QString::number(firedAfterMs)));
}

void tst_EpollEventDispatcher::stopsRepeatingTimerWhenKilled()
{
    EpollThread thread;
    std::atomic<int> ticks {0};
    QTimer *timer = nullptr;
    thread.run([&] {
        timer = new QTimer(thread.context());
        timer->setInterval(10);
        QObject::connect(timer, &QTimer::timeout, [&] {
            if (++ticks == 5)
                timer->stop();
        });
        timer->start();
    });
    QTRY_COMPARE_WITH_TIMEOUT(ticks.load(), 5, 2000);
    QTest::qWait(100);
    QCOMPARE(ticks.load(), 5);
    thread.run([&] {
        QCOMPARE(timer->isActive(), false);
        delete timer;
    });
}

void tst_EpollEventDispatcher::wakesForEventsPostedFromAnotherThread()
{
    EpollThread thread; // no timers, no sockets: the loop blocks until woken
    QTest::qWait(50);
    QElapsedTimer clock;
    std::atomic<qint64> ranAfterUs {-1};
    clock.start();
    QMetaObject::invokeMethod(
        thread.context(), [&] { ranAfterUs = clock.nsecsElapsed() / 1000; }, Qt::QueuedConnection);
    QTRY_VERIFY_WITH_TIMEOUT(ranAfterUs >= 0, 2000);
    QVERIFY2(ranAfterUs < 50'000, qPrintable(QString::number(ranAfterUs)));
}

void tst_EpollEventDispatcher::reportsReadableDescriptors()
{
    int fds[2];
    QCOMPARE(::pipe(fds), 0);
    EpollThread thread;
    std::atomic<int> activations {0};
    QSocketNotifier *notifier = nullptr;
    thread.run([&] {
        notifier = new QSocketNotifier(fds[0], QSocketNotifier::Read, thread.context());
        QObject::connect(notifier, &QSocketNotifier::activated, [&] {
            char byte;
            QCOMPARE(::read(fds[0], &byte, 1), ssize_t(1));
            ++activations;
        });
    });
    for (int i = 1; i <= 3; ++i) {
        QCOMPARE(::write(fds[1], "x", 1), ssize_t(1));
        QTRY_COMPARE_WITH_TIMEOUT(activations.load(), i, 2000);
    }
    // Disabled: data waits; enabled again: it is reported.
    thread.run([&] { notifier->setEnabled(false); });
    QCOMPARE(::write(fds[1], "y", 1), ssize_t(1));
    QTest::qWait(100);
    QCOMPARE(activations.load(), 3);
    thread.run([&] { notifier->setEnabled(true); });
    QTRY_COMPARE_WITH_TIMEOUT(activations.load(), 4, 2000);
    thread.run([&] { delete notifier; });
    ::close(fds[0]);
    ::close(fds[1]);
}

void tst_EpollEventDispatcher::survivesDescriptorReuseWithinOnePass()
{
    // A notifier's descriptor is closed and a new one gets the same number in the same
    // pass: the new one must still be watched.
    EpollThread thread;
    std::atomic<int> activations {0};
    int writeEnd = -1;
    thread.run([&] {
        int first[2];
        QCOMPARE(::pipe(first), 0);
        auto *old = new QSocketNotifier(first[0], QSocketNotifier::Read);
        delete old;
        ::close(first[0]);
        ::close(first[1]);
        int second[2];
        QCOMPARE(::pipe(second), 0);
        QCOMPARE(second[0], first[0]); // the lowest free number comes back
        writeEnd = second[1];
        auto *fresh = new QSocketNotifier(second[0], QSocketNotifier::Read, thread.context());
        QObject::connect(fresh, &QSocketNotifier::activated, [&, fd = second[0]] {
            char byte;
            [[maybe_unused]] const auto n = ::read(fd, &byte, 1);
            ++activations;
        });
    });
    QCOMPARE(::write(writeEnd, "z", 1), ssize_t(1));
    QTRY_COMPARE_WITH_TIMEOUT(activations.load(), 1, 2000);
}

void tst_EpollEventDispatcher::deliversEventsPostedFromItsOwnThread()
{
    EpollThread thread;
    std::atomic<int> hops {0};
    // A chain of events each posted by the previous one on the same thread.
    std::function<void()> hop = [&] {
        if (++hops < 100)
            QMetaObject::invokeMethod(thread.context(), hop, Qt::QueuedConnection);
    };
    QElapsedTimer clock;
    clock.start();
    QMetaObject::invokeMethod(thread.context(), hop, Qt::QueuedConnection);
    QTRY_COMPARE_WITH_TIMEOUT(hops.load(), 100, 2000);
    // Without a wake-up write each, they still run back to back, never waiting for a timer.
    QVERIFY2(clock.elapsed() < 500, qPrintable(QString::number(clock.elapsed())));
}

QTEST_GUILESS_MAIN(tst_EpollEventDispatcher)
#include "tst_EpollEventDispatcher.moc"
