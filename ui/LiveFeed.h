#pragma once

#include "RequestRecord.h"

#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QTimer>
#include <functional>

class QLabel;
class QWidget;

namespace tollgate {

// Keeps a page current from Gateway::requestFinished without costing the proxy anything:
// finished requests wait here; while the page is visible they are taken in at most
// kMaxRefreshesPerSecond times a second, and while it is hidden they are only kept. Past
// kMaxPendingWhileHidden kept requests the page reads the request log again when shown
// (the log has every request), or, without a log, folds them in without drawing.
// The page reads the log itself: the feed tells it when (Hooks::load) and is told when the
// read started and finished. Owned by the page.
class LiveFeed : public QObject
{
    Q_OBJECT

public:
    static constexpr int kMaxRefreshesPerSecond = 5;
    static constexpr int kMaxPendingWhileHidden = 10000;

    struct Hooks
    {
        std::function<bool()> hasLog; // a request log that can be read again
        std::function<void()> load; // start reading the log; calls loadStarted()
        // Takes in requests finished since the last call (possibly none) and, when the page
        // is visible, redraws.
        std::function<void(const QList<RequestRecord> &records, bool isVisible)> refresh;
    };

    LiveFeed(QWidget *page, Hooks hooks);

    // From the page's showEvent() and hideEvent().
    void pageShown();
    void pageHidden();
    // A request finished.
    void add(const RequestRecord &record);
    // A redraw soon (coalesced), e.g. because time moved on or a read answered.
    void schedule();
    // The log changed (another location, rows purged): read it again, now or when shown.
    void reload();
    // The settings moved the request log: read the new one (and hide status), or, with no
    // log any more, show offText in status.
    void storeMoved(bool hasLog, QLabel *status, const QString &offText);
    // Called by the page around its read of the log.
    void loadStarted();
    // Requests for which isInLog is true were in what the read found.
    void loadFinished(const std::function<bool(const RequestRecord &)> &isInLog);
    // Without a request log the live requests are all there is: nothing to read.
    void markLoaded() { m_isLoaded = true; }

    bool isLoaded() const { return m_isLoaded; }
    bool isLoading() const { return m_isLoading; }
    qsizetype pendingCount() const { return m_pending.size(); }

private:
    void refreshNow();

    QWidget *m_page;
    Hooks m_hooks;
    QList<RequestRecord> m_pending;
    bool m_isLoaded = false;
    bool m_isLoading = false;
    // Requests were dropped while hidden: the request log has them, read it again.
    bool m_needsReload = false;
    QTimer m_timer; // single shot: the next coalesced redraw
    QElapsedTimer m_sinceRefresh;
};

} // namespace tollgate
