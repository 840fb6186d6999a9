#pragma once

#include "keys/KeyStore.h"

#include <QFutureWatcher>
#include <QObject>
#include <QPointer>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>
#include <functional>

namespace tollgate {

// Runs keychain calls for the window without blocking it: KeyStore's calls are
// synchronous and may wait up to KeyStore::kAnswerTimeout for the user to answer an unlock
// prompt. Jobs run one after another (in the order they were asked) on a thread of the
// runner's own, each with a KeyStore for the runner's service; their answers come back on
// the runner's thread. Owns that thread.
class KeychainRunner : public QObject
{
    Q_OBJECT

public:
    // service: the keychain service name; tests pass a throwaway one.
    explicit KeychainRunner(const QString &service, QObject *parent = nullptr);
    ~KeychainRunner() override;

    QString service() const { return m_service; }
    bool isBusy() const { return m_running > 0; }

    // Runs job(store) off this thread, then done(result) here, unless context was
    // destroyed meanwhile.
    template<typename Result>
    void run(std::function<Result(KeyStore &store)> job, QObject *context,
             std::function<void(Result)> done)
    {
        auto *watcher = new QFutureWatcher<Result>(this);
        QPointer<QObject> guard(context);
        connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, guard, done] {
            watcher->deleteLater();
            finishJob();
            if (guard)
                done(watcher->result());
        });
        startJob();
        watcher->setFuture(QtConcurrent::run(&m_pool, [service = m_service, job] {
            KeyStore store(service);
            return job(store);
        }));
    }

signals:
    // A job started while none ran, or the last one finished.
    void busyChanged(bool isBusy);

private:
    void startJob();
    void finishJob();

    QString m_service;
    QThreadPool m_pool;
    int m_running = 0;
};

} // namespace tollgate
