#include "CommandLine.h"
#include "HeadlessRunner.h"
#include "LedgerCommand.h"
#include "SignalWatcher.h"
#include "keys/VirtualKeyFile.h"

#include <QCoreApplication>
#include <cstdio>

using namespace tollgate;

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("Tollgate"));
    QCoreApplication::setApplicationName(QStringLiteral("tollgate"));
    QCoreApplication::setApplicationVersion(QStringLiteral(TOLLGATE_VERSION));

    CommandLine cli = CommandLine::parse(QCoreApplication::arguments());
    if (!cli.error.isEmpty()) {
        std::fprintf(stderr, "tollgate: %s\nTry 'tollgate --help'.\n", qPrintable(cli.error));
        return 2;
    }
    if (cli.wantsHelp) {
        std::fputs(qPrintable(cli.helpText), stdout);
        return 0;
    }
    if (cli.wantsVersion) {
        std::printf("tollgate %s\n", TOLLGATE_VERSION);
        return 0;
    }
    if (cli.command != CommandLine::Command::Serve)
        return LedgerCommand::run(cli);
    if (!cli.hasExplicitVirtualKey) {
        VirtualKeyFile keyFile(VirtualKeyFile::defaultPath());
        const QByteArray key = keyFile.loadOrCreate();
        if (key.isEmpty()) {
            std::fprintf(stderr, "tollgate: %s\n", qPrintable(keyFile.errorString()));
            return 1;
        }
        if (keyFile.wasCreated())
            std::fprintf(stderr, "tollgate: generated a virtual key in %s\n",
                         qPrintable(VirtualKeyFile::defaultPath()));
        cli.config.virtualKeys = {key};
    }

    HeadlessRunner runner(cli.config, !cli.isQuiet);
    SignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &SignalWatcher::terminationRequested, &runner,
                     &HeadlessRunner::stop);
    runner.start();
    return app.exec();
}
