#include "LedgerReader.h"

#include <QMutexLocker>

namespace tollgate {

LedgerReader::LedgerReader(std::optional<StoreConfig> store, QObject *parent)
    : QObject(parent)
    , m_config(store)
    , m_requested(std::move(store))
{
    m_thread.setObjectName(QStringLiteral("tollgate-ledger-reader"));
    m_worker = new QObject;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.start(QThread::LowPriority);
}

LedgerReader::~LedgerReader()
{
    // The connection belongs to the reader thread: closed there, before it ends.
    post([this] { m_store.reset(); });
    m_thread.quit();
    m_thread.wait();
}

void LedgerReader::post(std::function<void()> task)
{
    QMetaObject::invokeMethod(m_worker, std::move(task), Qt::QueuedConnection);
}

LedgerStore *LedgerReader::store()
{
    if (!m_config)
        return nullptr;
    if (!m_store)
        m_store = std::make_unique<LedgerStore>(*m_config);
    if (m_store->isOpen())
        return m_store.get();
    QString error;
    if (m_store->open(&error))
        return m_store.get();
    {
        QMutexLocker locker(&m_errorMutex);
        if (m_lastError == error)
            return nullptr;
        m_lastError = error;
    }
    emit storeUnavailable(error);
    return nullptr;
}

void LedgerReader::setStore(const std::optional<StoreConfig> &store)
{
    if (store == m_requested)
        return;
    m_requested = store;
    post([this, store] {
        m_store.reset();
        m_config = store;
        QMutexLocker locker(&m_errorMutex);
        m_lastError.clear(); // the new store's errors are told afresh
    });
    emit storeChanged();
}

QString LedgerReader::lastError() const
{
    QMutexLocker locker(&m_errorMutex);
    return m_lastError;
}

} // namespace tollgate
