#pragma once

#include "store/LedgerStore.h"
#include "store/StoreConfig.h"

#include <QMutex>
#include <QObject>
#include <QPointer>
#include <QThread>
#include <functional>
#include <memory>
#include <optional>

namespace tollgate {

// Reads the request log for the window without ever blocking the GUI thread: queries run
// on a thread of their own with a LedgerStore connection of their own (a PostgreSQL
// server may be far away), and their results come back to the GUI thread. Queries run
// one after another in the order they were asked.
class LedgerReader : public QObject
{
    Q_OBJECT

public:
    // No store: every query is answered with what it returns for an unopened store.
    explicit LedgerReader(std::optional<StoreConfig> store, QObject *parent = nullptr);
    ~LedgerReader() override;

    // Runs query(store) on the reader thread, then done(result) on context's thread,
    // unless context was destroyed meanwhile. The store is opened on first use; query
    // gets nullptr when it cannot be opened (lastError() says why).
    template<typename Result>
    void run(std::function<Result(LedgerStore *store)> query, QObject *context,
             std::function<void(Result)> done)
    {
        QPointer<QObject> guard(context);
        post([this, query = std::move(query), guard, done = std::move(done)] {
            Result result = query(store());
            if (!guard)
                return;
            QMetaObject::invokeMethod(
                guard.data(),
                [guard, done, result = std::move(result)]() mutable {
                    if (guard)
                        done(std::move(result));
                },
                Qt::QueuedConnection);
        });
    }

    // The last error opening the store (reader thread's view), for the UI to show.
    QString lastError() const;
    bool hasStore() const { return m_requested.has_value(); }

    // Reads another request log from now on (the settings moved it): queries asked before
    // still run against the old one, in order; the old connection is closed after them.
    // Emits storeChanged() when the store differs, so that the pages read it again.
    void setStore(const std::optional<StoreConfig> &store);

signals:
    void storeUnavailable(const QString &error);
    void storeChanged();

private:
    void post(std::function<void()> task);
    LedgerStore *store(); // reader thread only

    std::optional<StoreConfig> m_config; // reader thread's, once it started
    std::optional<StoreConfig> m_requested; // the GUI thread's view of the same
    QThread m_thread;
    QObject *m_worker = nullptr; // lives on m_thread
    std::unique_ptr<LedgerStore> m_store; // created, used and destroyed on m_thread
    mutable QMutex m_errorMutex;
    QString m_lastError;
};

} // namespace tollgate
