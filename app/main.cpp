#include "CommandLine.h"
#include "DescriptorBudget.h"
#include "HeadlessRunner.h"
#include "KeysCommand.h"
#include "LedgerCommand.h"
#include "RoutesCommand.h"
#include "SignalWatcher.h"
#include "ThreadPriority.h"
#include "VirtualKeysCommand.h"
#include "keys/VirtualKeyFile.h"

#include <QCoreApplication>
#include <cstdio>
#include <memory>

#ifdef TOLLGATE_HAVE_GUI
#include "DesktopApp.h"
#include "DesktopPages.h"
#include "SingleInstance.h"

#include <QApplication>
#include <cstring>
#endif

using namespace tollgate;

namespace {
void setApplicationNames()
{
    QCoreApplication::setOrganizationName(QStringLiteral("Tollgate"));
    QCoreApplication::setApplicationName(QStringLiteral("tollgate"));
    QCoreApplication::setApplicationVersion(QStringLiteral(TOLLGATE_VERSION));
}

#ifdef TOLLGATE_HAVE_GUI
// The window is for a desktop session: not with --headless, not for the report, export,
// keys and vkeys commands or --help/--version (they print and exit), and not without a
// display to show it on. This is decided before the application object exists, since
// QApplication needs a display and QCoreApplication cannot show a window.
bool wantsWindow(int argc, char *argv[])
{
    for (int i = 1; i < argc; ++i) {
        for (const char *consoleOnly :
             {"--headless", "-headless", "report", "export", "keys", "vkeys", "routes", "--help",
              "-h", "-?", "--help-all", "--version", "-v"}) {
            if (std::strcmp(argv[i], consoleOnly) == 0)
                return false;
        }
    }
#if defined(Q_OS_WIN) || defined(Q_OS_MACOS)
    return true;
#else
    return qEnvironmentVariableIsSet("DISPLAY") || qEnvironmentVariableIsSet("WAYLAND_DISPLAY")
        || qEnvironmentVariableIsSet("QT_QPA_PLATFORM");
#endif
}
#endif

// Parses the command line; returns an exit code when the process is done (help, version,
// an error, a command such as report or vkeys), else -1 with cli ready to serve.
int prepare(CommandLine *cli)
{
    *cli = CommandLine::parse(QCoreApplication::arguments());
    if (!cli->error.isEmpty()) {
        std::fprintf(stderr, "tollgate: %s\nTry 'tollgate --help'.\n", qPrintable(cli->error));
        return 2;
    }
    if (cli->wantsHelp) {
        std::fputs(qPrintable(cli->helpText), stdout);
        return 0;
    }
    if (cli->wantsVersion) {
        std::printf("tollgate %s\n", TOLLGATE_VERSION);
        return 0;
    }
    if (cli->command == CommandLine::Command::Keys)
        return KeysCommand::run(*cli);
    if (cli->command == CommandLine::Command::VirtualKeys)
        return VirtualKeysCommand::run(*cli);
    if (cli->command == CommandLine::Command::Routes)
        return RoutesCommand::run(*cli);
    if (cli->command != CommandLine::Command::Serve)
        return LedgerCommand::run(*cli);
    if (!KeysCommand::loadKeychainKeys(&cli->config)
        || !KeysCommand::assignProviderKeys(&cli->config, QProcessEnvironment::systemEnvironment())
        || !VirtualKeysCommand::loadSecrets(&cli->config, cli->environmentVirtualKeys))
        return 1;
    if (!cli->hasExplicitVirtualKey) {
        VirtualKeyFile keyFile(VirtualKeyFile::defaultPath());
        const QByteArray key = keyFile.loadOrCreate();
        if (key.isEmpty()) {
            std::fprintf(stderr, "tollgate: %s\n", qPrintable(keyFile.errorString()));
            return 1;
        }
        if (keyFile.wasCreated())
            std::fprintf(stderr, "tollgate: generated a virtual key in %s\n",
                         qPrintable(VirtualKeyFile::defaultPath()));
        cli->config.virtualKeys = {key};
    }
    return -1;
}

int runHeadless(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    CommandLine cli;
    if (const int done = prepare(&cli); done >= 0)
        return done;
    HeadlessRunner runner(cli.config, !cli.isQuiet);
    SignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &SignalWatcher::terminationRequested, &runner,
                     &HeadlessRunner::stop);
    // SIGHUP: the command line, the settings file and the key sources read again, as at
    // start; a problem is printed and the running settings stay.
    QObject::connect(&signalWatcher, &SignalWatcher::reloadRequested, &runner, [&runner] {
        CommandLine again;
        if (prepare(&again) < 0)
            runner.reconfigure(again.config);
        else
            std::fputs("tollgate: the settings were not read again; running on with the "
                       "previous ones\n",
                       stderr);
    });
    runner.start();
    return app.exec();
}

#ifdef TOLLGATE_HAVE_GUI
int runDesktop(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QGuiApplication::setApplicationDisplayName(QStringLiteral("Tollgate"));
    QGuiApplication::setDesktopFileName(QStringLiteral("tollgate"));
    CommandLine cli;
    if (const int done = prepare(&cli); done >= 0)
        return done;

    std::unique_ptr<DesktopApp> desktop;
    SingleInstance instance;
    QObject::connect(&instance, &SingleInstance::otherInstanceFound, &app, [] {
        std::fputs("tollgate: already running; its window was brought forward\n", stderr);
        QCoreApplication::exit(0);
    });
    QObject::connect(&instance, &SingleInstance::becamePrimary, &app, [&] {
        desktop = std::make_unique<DesktopApp>(cli.config);
        DesktopPages::install(*desktop, cli.configFile);
        // Drawing the window gives way to forwarding: the gateway's threads are started
        // from a thread of its own and keep the process's priority.
        lowerCurrentThreadPriority();
        QObject::connect(&instance, &SingleInstance::activationRequested, desktop.get(),
                         &DesktopApp::showWindow);
        desktop->start();
    });
    SignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &SignalWatcher::terminationRequested, &app, [&] {
        if (desktop)
            desktop->quit();
        else
            QCoreApplication::exit(0);
    });
    instance.start();
    const int code = app.exec();
    desktop.reset(); // before QApplication goes: it owns widgets
    return code;
}
#endif
} // namespace

int main(int argc, char *argv[])
{
    // While the process has one thread: see DescriptorBudget.h.
    reserveDescriptors();
    setApplicationNames();
#ifdef TOLLGATE_HAVE_GUI
    if (wantsWindow(argc, argv))
        return runDesktop(argc, argv);
#endif
    return runHeadless(argc, argv);
}
