#include "SignalWatcher.h"

#include <QCoreApplication>
#include <QSocketNotifier>

#ifdef Q_OS_WIN
#include <windows.h>
#else
#include <csignal>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace tollgate {

namespace {
#ifdef Q_OS_WIN
SignalWatcher *g_watcher = nullptr;

BOOL WINAPI consoleHandler(DWORD type)
{
    if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT || type == CTRL_CLOSE_EVENT) {
        if (g_watcher)
            QMetaObject::invokeMethod(g_watcher, &SignalWatcher::terminationRequested,
                                      Qt::QueuedConnection);
        return TRUE;
    }
    return FALSE;
}
#else
int g_pipe[2] = {-1, -1};

void onSignal(int number)
{
    const char byte = number == SIGHUP ? 'h' : 't';
    // Only async-signal-safe calls here: the byte wakes the event loop and says which.
    [[maybe_unused]] const auto n = ::write(g_pipe[0], &byte, 1);
}
#endif
} // namespace

SignalWatcher::SignalWatcher(QObject *parent)
    : QObject(parent)
{
#ifdef Q_OS_WIN
    g_watcher = this;
    SetConsoleCtrlHandler(consoleHandler, TRUE);
#else
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_pipe) != 0)
        return;
    m_notifier = new QSocketNotifier(g_pipe[1], QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &SignalWatcher::onNotified);
    struct sigaction action = {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGHUP, &action, nullptr);
    // A client that vanishes mid-write must not kill the process.
    signal(SIGPIPE, SIG_IGN);
#endif
}

SignalWatcher::~SignalWatcher()
{
#ifdef Q_OS_WIN
    SetConsoleCtrlHandler(consoleHandler, FALSE);
    g_watcher = nullptr;
#else
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
#endif
}

void SignalWatcher::onNotified()
{
#ifndef Q_OS_WIN
    char byte = 0;
    if (::read(g_pipe[1], &byte, 1) == 1 && byte == 'h') {
        emit reloadRequested();
        return;
    }
#endif
    emit terminationRequested();
}

} // namespace tollgate
