#include "LiveFeed.h"

#include <QLabel>
#include <QWidget>
#include <algorithm>

namespace tollgate {

LiveFeed::LiveFeed(QWidget *page, Hooks hooks)
    : QObject(page)
    , m_page(page)
    , m_hooks(std::move(hooks))
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &LiveFeed::refreshNow);
}

void LiveFeed::pageShown()
{
    if (m_needsReload || (!m_isLoaded && !m_isLoading))
        m_hooks.load();
    else
        schedule();
}

void LiveFeed::pageHidden()
{
    m_timer.stop();
}

void LiveFeed::add(const RequestRecord &record)
{
    if (m_page->isVisible()) {
        m_pending.append(record);
        schedule();
        return;
    }
    if (m_needsReload)
        return; // the read when shown brings it
    m_pending.append(record);
    if (m_pending.size() < kMaxPendingWhileHidden)
        return;
    if (m_hooks.hasLog()) {
        m_pending.clear();
        m_needsReload = true;
    } else if (m_isLoaded) {
        refreshNow();
    }
}

void LiveFeed::schedule()
{
    if (!m_page->isVisible() || m_timer.isActive())
        return;
    const qint64 minIntervalMs = 1000 / kMaxRefreshesPerSecond;
    const qint64 sinceMs = m_sinceRefresh.isValid() ? m_sinceRefresh.elapsed() : minIntervalMs;
    m_timer.start(int(std::max<qint64>(0, minIntervalMs - sinceMs)));
}

void LiveFeed::reload()
{
    if (!m_hooks.hasLog())
        return;
    m_isLoaded = false;
    if (m_page->isVisible())
        m_hooks.load();
    else
        m_needsReload = true;
}

void LiveFeed::storeMoved(bool hasLog, QLabel *status, const QString &offText)
{
    if (hasLog) {
        status->hide();
        reload();
        return;
    }
    status->setText(offText);
    status->show();
}

void LiveFeed::loadStarted()
{
    m_needsReload = false;
    m_isLoading = true;
}

void LiveFeed::loadFinished(const std::function<bool(const RequestRecord &)> &isInLog)
{
    m_isLoading = false;
    m_isLoaded = true;
    m_pending.removeIf(isInLog);
    schedule();
}

void LiveFeed::refreshNow()
{
    if (!m_isLoaded)
        return;
    QList<RequestRecord> records;
    records.swap(m_pending);
    const bool isVisible = m_page->isVisible();
    m_hooks.refresh(records, isVisible);
    if (isVisible)
        m_sinceRefresh.start();
}

} // namespace tollgate
