#include "EpollEventDispatcher.h"

#include "MonotonicClock.h"

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QThread>
#include <cerrno>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace tollgate {

namespace {
// Small batches: the listening socket and new connections get their turn often, which
// keeps time to first byte low when hundreds of streams are active.
constexpr int kMaxEvents = 64;
} // namespace

EpollEventDispatcher::EpollEventDispatcher(QObject *parent)
    : QAbstractEventDispatcher(parent)
{
    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    m_wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event event = {};
    event.events = EPOLLIN;
    event.data.fd = m_wakeFd;
    epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_wakeFd, &event);
}

EpollEventDispatcher::~EpollEventDispatcher()
{
    ::close(m_wakeFd);
    ::close(m_epoll);
}

void EpollEventDispatcher::startingUp()
{
    m_ownerThread = QThread::currentThreadId();
}

bool EpollEventDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags)
{
    m_isInterrupted.store(false);
    emit awake();
    m_hasLocalPostedEvents = false;
    QCoreApplication::sendPostedEvents();

    const bool canWait = flags.testFlag(QEventLoop::WaitForMoreEvents) && !m_isInterrupted.load()
        && !m_hasLocalPostedEvents;
    if (canWait)
        emit aboutToBlock();
    if (m_isInterrupted.load())
        return false;

    applyChanges();
    epoll_event events[kMaxEvents];
    int count;
    do {
        count = epoll_wait(m_epoll, events, kMaxEvents, canWait ? waitTimeoutMs() : 0);
    } while (count < 0 && errno == EINTR);

    int activated = 0;
    const bool includeSockets = !flags.testFlag(QEventLoop::ExcludeSocketNotifiers);
    for (int i = 0; i < count; ++i) {
        const int fd = events[i].data.fd;
        if (fd == m_wakeFd) {
            quint64 value = 0;
            [[maybe_unused]] const auto n = ::read(m_wakeFd, &value, sizeof(value));
            // Cleared before the next pass sends posted events: a post after this point
            // writes the eventfd again.
            m_isWakeUpPending.store(false);
            ++activated;
            continue;
        }
        if (includeSockets)
            activated += activateSocket(fd, events[i].events);
    }
    if (!flags.testFlag(QEventLoop::X11ExcludeTimers))
        activated += activateTimers();
    return activated > 0;
}

quint32 EpollEventDispatcher::wantedEvents(const Watch &watch) const
{
    return (watch.read ? quint32(EPOLLIN) : 0u) | (watch.write ? quint32(EPOLLOUT) : 0u)
        | (watch.exception ? quint32(EPOLLPRI) : 0u);
}

void EpollEventDispatcher::registerSocketNotifier(QSocketNotifier *notifier)
{
    const int fd = int(notifier->socket());
    if (fd < 0)
        return;
    if (size_t(fd) >= m_watches.size())
        m_watches.resize(size_t(fd) + 1);
    Watch &watch = m_watches[size_t(fd)];
    switch (notifier->type()) {
    case QSocketNotifier::Read:
        watch.read = notifier;
        break;
    case QSocketNotifier::Write:
        watch.write = notifier;
        break;
    case QSocketNotifier::Exception:
        watch.exception = notifier;
        break;
    }
    if (!watch.isDirty) {
        watch.isDirty = true;
        m_dirty.push_back(fd);
    }
}

void EpollEventDispatcher::unregisterSocketNotifier(QSocketNotifier *notifier)
{
    const int fd = int(notifier->socket());
    Watch *found = watchOf(fd);
    if (!found)
        return;
    Watch &watch = *found;
    if (watch.read == notifier)
        watch.read = nullptr;
    else if (watch.write == notifier)
        watch.write = nullptr;
    else if (watch.exception == notifier)
        watch.exception = nullptr;
    if (wantedEvents(watch) == 0) {
        // Removed from the kernel now: the fd is usually closed next and its number may
        // come back for a new socket within this same pass.
        applyChange(fd);
        return;
    }
    if (!watch.isDirty) {
        watch.isDirty = true;
        m_dirty.push_back(fd);
    }
}

void EpollEventDispatcher::applyChange(int fd)
{
    Watch *found = watchOf(fd);
    if (!found)
        return;
    Watch &watch = *found;
    watch.isDirty = false;
    const quint32 wanted = wantedEvents(watch);
    epoll_event event = {};
    event.data.fd = fd;
    event.events = wanted;
    if (wanted == 0) {
        if (watch.isInKernel)
            epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, &event);
        watch = Watch();
        return;
    }
    if (!watch.isInKernel) {
        if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &event) != 0 && errno == EEXIST)
            epoll_ctl(m_epoll, EPOLL_CTL_MOD, fd, &event);
    } else if (wanted != watch.kernelEvents) {
        if (epoll_ctl(m_epoll, EPOLL_CTL_MOD, fd, &event) != 0 && errno == ENOENT)
            epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &event);
    }
    watch.isInKernel = true;
    watch.kernelEvents = wanted;
}

void EpollEventDispatcher::applyChanges()
{
    // applyChange() may erase entries; iterate over a copy of the fd list.
    std::vector<int> dirty;
    dirty.swap(m_dirty);
    for (int fd : dirty)
        applyChange(fd);
}

int EpollEventDispatcher::activateSocket(int fd, quint32 events)
{
    // Each notifier is looked up again: the previous one's slot may have changed them.
    int activated = 0;
    const auto send = [&](QSocketNotifier *Watch::*member) {
        const Watch *watch = watchOf(fd);
        if (!watch)
            return;
        if (QSocketNotifier *notifier = watch->*member) {
            QEvent event(QEvent::SockAct);
            QCoreApplication::sendEvent(notifier, &event);
            ++activated;
        }
    };
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
        send(&Watch::read);
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        send(&Watch::write);
    if (events & EPOLLPRI)
        send(&Watch::exception);
    return activated;
}

void EpollEventDispatcher::registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                                         QObject *object)
{
    m_timers.push_back({timerId, interval, timerType, object, monotonicUs() + interval * 1000});
}

bool EpollEventDispatcher::unregisterTimer(int timerId)
{
    for (auto it = m_timers.begin(); it != m_timers.end(); ++it) {
        if (it->id == timerId) {
            m_timers.erase(it);
            return true;
        }
    }
    return false;
}

bool EpollEventDispatcher::unregisterTimers(QObject *object)
{
    const auto before = m_timers.size();
    m_timers.erase(std::remove_if(m_timers.begin(), m_timers.end(),
                                  [object](const Timer &t) { return t.object == object; }),
                   m_timers.end());
    return m_timers.size() != before;
}

QList<QAbstractEventDispatcher::TimerInfo>
EpollEventDispatcher::registeredTimers(QObject *object) const
{
    QList<TimerInfo> list;
    for (const Timer &t : m_timers) {
        if (t.object == object)
            list.append(TimerInfo(t.id, int(t.intervalMs), t.type));
    }
    return list;
}

int EpollEventDispatcher::remainingTime(int timerId)
{
    const qint64 now = monotonicUs();
    for (const Timer &t : m_timers) {
        if (t.id == timerId)
            return int(std::max<qint64>(0, (t.deadlineUs - now) / 1000));
    }
    return -1;
}

int EpollEventDispatcher::waitTimeoutMs() const
{
    if (m_timers.empty())
        return -1;
    qint64 nearest = m_timers.front().deadlineUs;
    for (const Timer &t : m_timers)
        nearest = std::min(nearest, t.deadlineUs);
    const qint64 waitUs = nearest - monotonicUs();
    return waitUs <= 0 ? 0 : int((waitUs + 999) / 1000);
}

int EpollEventDispatcher::activateTimers()
{
    if (m_timers.empty())
        return 0;
    const qint64 now = monotonicUs();
    std::vector<int> due;
    for (const Timer &t : m_timers) {
        if (t.deadlineUs <= now)
            due.push_back(t.id);
    }
    int activated = 0;
    for (int id : due) {
        // A timer's slot may stop other timers; fire only those still registered.
        auto it = std::find_if(m_timers.begin(), m_timers.end(),
                               [id](const Timer &t) { return t.id == id; });
        if (it == m_timers.end())
            continue;
        it->deadlineUs = now + it->intervalMs * 1000;
        QObject *object = it->object;
        QTimerEvent event(id);
        QCoreApplication::sendEvent(object, &event);
        ++activated;
    }
    return activated;
}

void EpollEventDispatcher::wakeUp()
{
    if (QThread::currentThreadId() == m_ownerThread) {
        // Posted from inside the loop: the next pass sends it without blocking first.
        m_hasLocalPostedEvents = true;
        return;
    }
    if (!m_isWakeUpPending.exchange(true)) {
        const quint64 one = 1;
        [[maybe_unused]] const auto n = ::write(m_wakeFd, &one, sizeof(one));
    }
}

void EpollEventDispatcher::interrupt()
{
    m_isInterrupted.store(true);
    if (QThread::currentThreadId() == m_ownerThread)
        return;
    wakeUp();
}

} // namespace tollgate
